"""Batch and HTTP API figures: ``partways batch`` cases/s and memory with 1 and 2
workers over a generated book, and ``partways serve`` requests/s with 8 concurrent
clients (p50/p99 latency). Prints figures; asserts nothing.

The book (a JSONL file and a CSV export of the same size) is written to disk first; each
``partways batch`` run is then a fresh process whose resident memory (and that of every
worker it spawns) is sampled from /proc while it runs. For each process the figures are
its RSS when the batch has read 10%, 50% and 100% of its input (the input file's read
position), and its peak (VmHWM).

    python benchmarks/batch.py                      # 100,000 cases, both backends, then serve
    python benchmarks/batch.py --n 5000 --skip-serve
    python benchmarks/batch.py --n 20000 --engines python --books jsonl --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

MARKS = (0.1, 0.5, 0.9, 1.0)


def generate(path: Path, n: int, seed: int = 1) -> None:
    """``n`` cases as JSONL: the shipped examples with varied names, hours and revenue."""
    import partways

    kb = partways.load_kb()
    bases = [json.loads(json.dumps(dict(partways.load_case(f, kb).data)))
             for f in sorted((ROOT / "examples").glob("*.yaml"))]
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            case = dict(bases[i % len(bases)])
            case["client"] = f"{case['client']} #{i}"
            money = dict(case.get("money") or {})
            money["hours"] = round(rng.paretovariate(1.16) * 20, 1)
            money.setdefault("revenue", round(money["hours"] * rng.uniform(30, 80)))
            case["money"] = money
            fh.write(json.dumps(case, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- /proc


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line[:5]] = int(line.split()[1]) // 1024
    except OSError:
        pass
    return out


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _read_pos(pid: int, path: str) -> int | None:
    """How far process ``pid`` has read into ``path`` (None when it has no such fd open)."""
    fds = f"/proc/{pid}/fd"
    path = os.path.realpath(path)
    try:
        names = os.listdir(fds)
    except OSError:
        return None
    for fd in names:
        try:
            if os.readlink(f"{fds}/{fd}") != path:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as fh:
                return int(fh.readline().split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return None


def bench_batch(source: Path, progress_file: Path, n: int, workers: int, engine: str,
                interval: float = 0.25) -> dict[str, object]:
    """Run ``partways batch`` in a fresh process, sampling the RSS of it and its workers."""
    size = progress_file.stat().st_size
    out = source.parent / f"out-{engine}-{workers}.jsonl"
    env = dict(os.environ, PARTWAYS_ENGINE=engine)
    cmd = [sys.executable, "-m", "partways", "batch", str(source), "--workers", str(workers),
           "--format", "jsonl", "-o", str(out), "--no-progress"]
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    roles: dict[int, str] = {proc.pid: "parent"}
    samples: dict[str, list[tuple[float, int]]] = {"parent": []}
    peak: dict[str, int] = {}
    frac, done_at = 0.0, None
    while proc.poll() is None:
        pos = _read_pos(proc.pid, str(progress_file))
        if pos is not None:
            frac = max(frac, pos / size)
        elif frac > 0:
            frac = 1.0  # the input is closed: all of it was read
        if frac >= 1.0 and done_at is None:
            done_at = time.perf_counter() - t0
        for child in _children(proc.pid):
            if child not in roles and "resource_tracker" not in _cmdline(child) \
                    and "multiprocessing" in _cmdline(child):
                roles[child] = f"worker{sum(r.startswith('worker') for r in roles.values()) + 1}"
                samples[roles[child]] = []
        for pid, role in roles.items():
            st = _status(pid)
            if "VmRSS" in st:
                samples[role].append((frac, st["VmRSS"]))
                peak[role] = max(peak.get(role, 0), st["VmHWM"])
        time.sleep(interval)
    dt = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    rows = sum(1 for _ in out.open(encoding="utf-8"))
    out.unlink()
    result: dict[str, object] = {
        "engine": engine, "workers": workers, "input": source.name, "cases": n, "rows": rows,
        "exit": proc.returncode, "seconds": round(dt, 1), "cases_per_s": round(n / dt),
        "input_read_s": round(done_at, 1) if done_at else None,
        "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2)}
    rss = {}
    for role, pts in samples.items():
        at = {}
        for mark in MARKS:
            hit = [r for f, r in pts if f >= mark]
            at[f"{int(mark * 100)}%"] = hit[0] if hit else None
        rss[role] = {**at, "peak": peak.get(role)}
    result["rss_mb"] = rss
    if proc.returncode not in (0, 1):
        result["stderr"] = err[-500:]
    return result


# --------------------------------------------------------------------------- serve


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=30) as r:
        out: dict[str, object] = json.loads(r.read())
    return out


def _post(url: str, body: bytes) -> float:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as r:
        r.read()
    return time.perf_counter() - t


def _run(clients: int, calls: list[tuple[str, bytes]]) -> dict[str, float]:
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        lat = sorted(pool.map(lambda c: _post(*c), calls))
    dt = time.perf_counter() - t0
    return {"requests": len(calls), "requests_per_s": round(len(calls) / dt, 1),
            "p50_ms": round(statistics.median(lat) * 1000, 1),
            "p99_ms": round(lat[max(0, int(len(lat) * 0.99) - 1)] * 1000, 1)}


def bench_serve(requests: int, clients: int = 8, engine: str = "durable") -> dict[str, object]:
    """``partways serve`` in a fresh process: /v1/assess over the shipped examples from
    ``clients`` concurrent clients, then every other POST endpoint the same way; the
    durable rulesets (``/healthz``) and the server's RSS before and after."""
    import partways

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "partways", "serve", "--port", str(port)],
                            cwd=ROOT, env=dict(os.environ, PARTWAYS_ENGINE=engine),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                _get(f"{url}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        kb = partways.load_kb()
        cases = [json.loads(json.dumps(dict(partways.load_case(f, kb).data)))
                 for f in sorted((ROOT / "examples").glob("*.yaml"))]
        bodies = [json.dumps({"case": c}).encode() for c in cases]
        others = [("why", {}), ("why-not", {"target": "terminate"}),
                  ("what-if", {"edits": ["wellbeing=low"]}), ("plan", {}),
                  ("flip", {"max_size": 1})]
        mixed = [(f"{url}/v1/{path}", json.dumps({"case": c, **extra}).encode())
                 for path, extra in others for c in cases]
        for b in bodies:  # warm up: each example once
            _post(f"{url}/v1/assess", b)
        for path, body in mixed:  # and each endpoint once (first-request compilation)
            _post(path, body)
        before = _get(f"{url}/healthz")["rulesets"]
        rss0 = _status(proc.pid).get("VmRSS")
        load0 = os.getloadavg()[0]
        assess = _run(clients, [(f"{url}/v1/assess", bodies[i % len(bodies)])
                                for i in range(requests)])
        rss1 = _status(proc.pid).get("VmRSS")
        mix = _run(clients, [mixed[i % len(mixed)] for i in range(max(len(mixed),
                                                                       requests // 10))])
        after = _get(f"{url}/healthz")["rulesets"]
        return {"engine": engine, "clients": clients, "assess": assess,
                "other_endpoints": mix, "rulesets_before": before, "rulesets_after": after,
                "rss_mb": {"before": rss0, "after_assess": rss1,
                           "after_all": _status(proc.pid).get("VmRSS"),
                           "peak": _status(proc.pid).get("VmHWM")},
                "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _print_batch(r: dict[str, object]) -> None:
    print("batch", json.dumps({k: v for k, v in r.items() if k != "rss_mb"}), flush=True)
    for role, figs in r["rss_mb"].items():  # type: ignore[union-attr]
        print(f"    {role:<8} RSS MB " + "  ".join(f"{k} {v}" for k, v in figs.items()),
              flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="generated cases (default 100000)")
    ap.add_argument("--requests", type=int, default=2000, help="HTTP requests")
    ap.add_argument("--skip-serve", action="store_true")
    ap.add_argument("--serve-only", action="store_true", help="only the HTTP API figures")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    ap.add_argument("--engines", nargs="*", default=["python", "durable"])
    ap.add_argument("--books", nargs="*", default=["jsonl", "csv"], choices=["jsonl", "csv"])
    ap.add_argument("--dir", type=Path, help="keep the generated book here (default: a "
                                             "temporary folder)")
    args = ap.parse_args()
    if args.serve_only:
        args.books = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.dir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        jsonl, export = base / "book.jsonl", base / "book-csv"
        if "jsonl" in args.books and not jsonl.exists():
            generate(jsonl, args.n)
        if "csv" in args.books and not (export / "clients.csv").exists():
            from book import generate as generate_csv

            generate_csv(export, args.n, bad=0, seed=1)
        if args.books:
            print(f"book: {args.n} cases; load average {os.getloadavg()}", flush=True)
        for book in args.books:
            source, watched = (jsonl, jsonl) if book == "jsonl" else \
                (export, export / "clients.csv")
            print(f"{book}: {watched.stat().st_size // 1_000_000} MB", flush=True)
            for engine in args.engines:
                for w in args.workers:
                    _print_batch(bench_batch(source, watched, args.n, w, engine))
    if not args.skip_serve:
        for engine in args.engines:
            print("serve", json.dumps(bench_serve(args.requests, engine=engine)), flush=True)


if __name__ == "__main__":
    main()
