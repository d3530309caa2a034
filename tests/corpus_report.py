"""Run the antiderivative corpus and every catalog entry, and count the verdicts.

    python tests/corpus_report.py [--budget SECONDS] [--jobs N]

Each integrand of ``tests/data/integrands.txt`` (and each catalog entry) is integrated
by `symcalc.antiderivative` within the budget and judged by `integral_checks.judge`,
which is independent of symcalc's own verification: right, no verified closed form
("none"), or wrong.  Prints one line per integrand that is not right, then the counts.
Exit status 1 if any answer is wrong.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from integral_checks import corpus, judge  # noqa: E402


def _one(item: tuple[str, str, float]) -> tuple[str, str, str, str, float]:
    from symcalc import antiderivative

    kind, expr, budget = item
    start = time.perf_counter()
    result = antiderivative(expr, timeout=budget)
    return kind, expr, judge(result), result.method, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=4.0, help="seconds per integrand")
    parser.add_argument("--jobs", type=int, default=2, help="integrands run at once")
    args = parser.parse_args(argv)

    from symcalc.symbolic.catalog import CATALOG

    items = [("corpus", expr, args.budget) for expr, _ in corpus()]
    items += [("catalog", name, args.budget) for name in sorted(CATALOG)]
    counts: dict[str, dict[str, int]] = {"corpus": {}, "catalog": {}}
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for kind, expr, verdict, method, seconds in pool.map(_one, items):
            outcome = verdict.split(":")[0]
            counts[kind][outcome] = counts[kind].get(outcome, 0) + 1
            if outcome != "right":
                print(f"{kind:8s} {outcome:6s} {seconds:6.2f} s  {expr}  [{method}] {verdict}")
    for kind, tally in counts.items():
        total = sum(tally.values())
        print(
            f"{kind}: {total} integrands: {tally.get('right', 0)} right, "
            f"{tally.get('none', 0)} no verified closed form, {tally.get('wrong', 0)} wrong"
        )
    print(f"{time.perf_counter() - start:.0f} s with {args.jobs} jobs, budget {args.budget:g} s")
    return 1 if any(t.get("wrong") for t in counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
