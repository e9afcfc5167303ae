"""Generate a synthetic client book as a CSV export (clients.csv, events.csv,
remediation.csv), with a few malformed rows on purpose, for `partways batch`.

    python benchmarks/book.py /tmp/book --clients 2000 [--bad 12] [--seed 1]
    partways batch /tmp/book --workers 2 --format csv -o /tmp/book.out.csv
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from pathlib import Path

EVENTS = [("late_payment", {"Days overdue": (5, 60), "Amount": (200, 4000)}),
          ("poor_communication", {}), ("out_of_scope_demand", {}), ("reversal", {}),
          ("unprepared_meeting", {}), ("boundary_violation", {"Kind": ["off_hours", "personal"]}),
          ("slow_response", {"Response hours": (50, 200)}), ("disrespect", {}),
          ("pessimism", {}), ("schedule_disregard", {}), ("verbal_abuse", {}),
          ("unethical_request", {})]
WEIGHTS = [30, 12, 12, 10, 8, 8, 8, 5, 4, 4, 1, 0.5]
STEPS = ["frank_conversation", "new_channel", "scope_change", "self_review", "cool_off"]


def generate(out: Path, clients: int, bad: int, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    as_of = dt.date(2026, 11, 16)
    bad_rows = set(rng.sample(range(clients), min(bad, clients)))
    counts = {"clients": clients, "events": 0, "remediation": 0, "bad": len(bad_rows)}
    with (out / "clients.csv").open("w", newline="", encoding="utf-8") as fc, \
            (out / "events.csv").open("w", newline="", encoding="utf-8") as fe, \
            (out / "remediation.csv").open("w", newline="", encoding="utf-8") as fr:
        wc, we, wr = csv.writer(fc), csv.writer(fe), csv.writer(fr)
        wc.writerow(["Company", "As of", "Client since", "Retainer", "Team", "Contract end",
                     "Notice period", "Total billed", "Hours", "Target rate", "Amount due",
                     "Doubts", "Wellbeing"])
        we.writerow(["Customer", "Date", "Event type", "Days overdue", "Amount",
                     "Response hours", "Kind", "Notes"])
        wr.writerow(["Client", "Date", "Step", "Outcome"])
        for i in range(clients):
            name = f"Client {i:05d}"
            hours = round(rng.paretovariate(1.16) * 20, 1)
            rate = rng.choice([40, 50, 60, 75])
            revenue = round(hours * rate * rng.uniform(0.5, 1.3))
            since = as_of - dt.timedelta(days=rng.randint(60, 1500))
            row = [name, as_of.isoformat(), since.isoformat(), rng.choice(["yes", "no"]),
                   rng.choice(["yes", "no"]),
                   (as_of + dt.timedelta(days=rng.randint(10, 400))).isoformat()
                   if rng.random() < 0.7 else "", rng.choice([14, 30, 60]), revenue, hours,
                   rate, rng.choice([0, 0, 0, 500, 2500]), rng.randint(0, 4),
                   rng.choice(["low", "medium", "medium", "high"])]
            if i in bad_rows:  # one malformed value per bad client, in various columns
                col = rng.choice([8, 12, 2])
                row[col] = {8: "twelve", 12: "hihg", 2: "2026-13-45"}[col]
            wc.writerow(row)
            for _ in range(rng.choices([0, 1, 2, 3, 5, 8], [30, 20, 20, 15, 10, 5])[0]):
                etype, fields = rng.choices(EVENTS, WEIGHTS)[0]
                date = as_of - dt.timedelta(days=rng.randint(1, 500))
                vals = {k: (rng.randint(*v) if isinstance(v, tuple) else rng.choice(v))
                        for k, v in fields.items()}
                we.writerow([name, date.isoformat(), etype, vals.get("Days overdue", ""),
                             vals.get("Amount", ""), vals.get("Response hours", ""),
                             vals.get("Kind", ""), ""])
                counts["events"] += 1
            if rng.random() < 0.3:
                date = as_of - dt.timedelta(days=rng.randint(1, 200))
                wr.writerow([name, date.isoformat(), rng.choice(STEPS),
                             rng.choice(["improved", "failed", "pending"])])
                counts["remediation"] += 1
        we.writerow(["Nobody Inc", as_of.isoformat(), "late_payment", 10, "", "", "", ""])
        counts["events"] += 1
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out", type=Path)
    ap.add_argument("--clients", type=int, default=2000)
    ap.add_argument("--bad", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    print(generate(args.out, args.clients, args.bad, args.seed))


if __name__ == "__main__":
    main()
