"""python -m bench.simulate [--reports 15000] [--surge 2000] [--days 30] [--stores 1|2]
[--out DIR]"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from bench.simulate.report import markdown, write
from bench.simulate.run import dump, simulate
from bench.simulate.world import plan_month
from shared.settings import REPO_ROOT
from shared.taxonomy import DISTRICT_CODES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.simulate", description=__doc__)
    parser.add_argument("--reports", type=int, default=15_000)
    parser.add_argument("--surge", type=int, default=2_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1022)
    parser.add_argument("--tick-minutes", type=float, default=15.0)
    parser.add_argument("--tick-wall", type=float, default=0.05,
                        help="wall seconds a quiet tick lasts at least")
    parser.add_argument("--durable-store", action="store_true",
                        help="sync every commit to disk, as `make run` does (slower)")
    parser.add_argument("--stores", type=int, choices=(1, 2), default=2,
                        help="2 (default): the tracker's database on an embedded store of its own; "
                             "1: one store for every service")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "simulate")
    args = parser.parse_args(argv)
    plan = plan_month(reports=args.reports, surge=args.surge, days=args.days, seed=args.seed,
                      districts=DISTRICT_CODES)
    results = simulate(plan, tick=timedelta(minutes=args.tick_minutes),
                       tick_wall=args.tick_wall, seed=args.seed, durable=args.durable_store,
                       stores=args.stores)
    md, png = write(results, args.out)
    dump(results, args.out / "simulation.json")
    print()
    print(markdown(results))
    print(f"written: {md}, {png}, {args.out / 'simulation.json'}")
    return 0 if results["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
