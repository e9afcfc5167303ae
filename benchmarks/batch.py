"""Batch and HTTP API throughput: ``partways batch`` cases/s with 1 and 2 workers over a
generated book, peak RSS, and ``partways serve`` requests/s with 8 concurrent clients
(p50/p99 latency). Prints figures; asserts nothing.

    python benchmarks/batch.py                 # 100,000 generated cases, then the server
    python benchmarks/batch.py --n 5000        # a quick run
    python benchmarks/batch.py --skip-serve    # batch only
"""

from __future__ import annotations

import argparse
import json
import random
import resource
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

import partways  # noqa: E402
from partways.batch import run_batch  # noqa: E402


def _rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def generate(path: Path, n: int, seed: int = 1) -> None:
    """``n`` cases as JSONL: the shipped examples with varied names, hours and dates."""
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


def bench_batch(path: Path, n: int, workers: int) -> dict[str, float]:
    kb = partways.load_kb()
    t0 = time.perf_counter()
    rows, summary = run_batch([path], kb, workers=workers)
    first = time.perf_counter() - t0
    count = sum(1 for _ in rows)
    dt = time.perf_counter() - t0
    assert count == n and summary.failed == 0
    return {"workers": workers, "cases": n, "seconds": round(dt, 1),
            "cases_per_s": round(n / dt), "assess_phase_s": round(first, 1),
            "peak_rss_mb_parent": round(_rss_mb()),
            "peak_rss_mb_workers": round(_rss_mb(resource.RUSAGE_CHILDREN))}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_serve(requests: int, clients: int = 8) -> dict[str, float]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "partways", "serve", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        kb = partways.load_kb()
        bodies = [json.dumps({"case": json.loads(json.dumps(dict(
            partways.load_case(f, kb).data)))}).encode()
            for f in sorted((ROOT / "examples").glob("*.yaml"))]

        def one(i: int) -> float:
            req = urllib.request.Request(f"{url}/v1/assess", data=bodies[i % len(bodies)],
                                         headers={"Content-Type": "application/json"})
            t = time.perf_counter()
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()
            return time.perf_counter() - t

        for i in range(20):  # warm up
            one(i)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            lat = sorted(pool.map(one, range(requests)))
        dt = time.perf_counter() - t0
        return {"clients": clients, "requests": requests, "requests_per_s": round(requests / dt),
                "p50_ms": round(statistics.median(lat) * 1000, 1),
                "p99_ms": round(lat[int(len(lat) * 0.99) - 1] * 1000, 1)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=100_000, help="generated cases (default 100000)")
    ap.add_argument("--requests", type=int, default=2000, help="HTTP requests")
    ap.add_argument("--skip-serve", action="store_true")
    ap.add_argument("--workers", type=int, nargs="*", default=[1, 2])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.jsonl"
        generate(path, args.n)
        print(f"generated {args.n} cases ({path.stat().st_size // 1_000_000} MB of JSONL)")
        for w in args.workers:
            print("batch", json.dumps(bench_batch(path, args.n, w)))
    if not args.skip_serve:
        print("serve", json.dumps(bench_serve(args.requests)))


if __name__ == "__main__":
    main()
