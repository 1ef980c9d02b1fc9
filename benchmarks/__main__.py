"""``python -m benchmarks [--quick] [--scenario NAME ...] [--variant NAME ...] [--reps N]``."""

from __future__ import annotations

import sys
import shlex
import argparse
import datetime
from typing import List, Optional

from .report import RESULTS_DIR, finish
from .runner import SCENARIOS, run
from .variants import VARIANTS


def _names(values: Optional[List[str]], known: List[str], what: str) -> List[str]:
    if not values:
        return known
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(known)})")
    return [n for n in known if n in names]  # canonical order


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description="microdc side-by-side benchmarks")
    parser.add_argument("--quick", action="store_true", help="2 repetitions and smaller counts (about 2 minutes)")
    parser.add_argument("--scenario", action="append", help=f"repeatable or comma-separated: {', '.join(SCENARIOS)}")
    parser.add_argument("--variant", action="append", help=f"repeatable or comma-separated: {', '.join(VARIANTS)}")
    parser.add_argument("--reps", type=int, default=None, help="repetitions per variant (default 5, --quick 2)")
    args = parser.parse_args(argv)
    scenarios = _names(args.scenario, list(SCENARIOS), "scenario")
    variants = _names(args.variant, list(VARIANTS), "variant")
    reps = args.reps if args.reps is not None else (2 if args.quick else 5)
    if not 1 <= reps <= 50:
        sys.exit("--reps must be between 1 and 50")
    command = "python -m benchmarks" + (
        "" if argv is None and len(sys.argv) <= 1 else " " + shlex.join(sys.argv[1:] if argv is None else argv)
    )
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    raw = run(scenarios, variants, reps, args.quick)
    text, _ = finish(raw, command, reps, date)
    print(text)
    print(f"(written to {RESULTS_DIR.name}/latest.md and latest.json)", file=sys.stderr)


if __name__ == "__main__":
    main()
