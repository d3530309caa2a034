"""Start-up time of the ``symcalc`` command, as ratios to ``python -c "import sympy"``.

Each command runs many times in a fresh process, interleaved with the others so that
a burst of load on a shared machine hits them all alike.  The figure per command is
the minimum over the runs of the CPU time (user + system, of the process and of any
child it waits for, such as the time budget's worker): the minimum is the run least
disturbed by other work, and CPU time does not count waiting for a busy core.  Wall
time (also the minimum) is printed beside it.

    python benchmarks/bench_startup.py            # 15 runs of each
    python benchmarks/bench_startup.py --runs 30

The baseline ``import sympy`` is measured in the same run, with the same interpreter
and environment (``PYTHONDONTWRITEBYTECODE`` included: without bytecode caches every
symcalc module a command imports is compiled at each start, so the ratio shows what a
command imports).  Exit code 1 if a ratio misses its target.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

#: (label, arguments after the command, target ratio to ``import sympy``)
COMMANDS = (
    ("symcalc --help", ["--help"], 0.3),
    ("symcalc list", ["list"], 1.2),
    ("symcalc derive sigmoid", ["derive", "sigmoid"], 1.5),
    ("symcalc integrate 'x*log(x)'", ["integrate", "x*log(x)"], 2.0),
)


def symcalc_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m symcalc``."""
    script = Path(sys.executable).with_name("symcalc")
    if script.exists():
        return [str(script)]
    found = shutil.which("symcalc")
    return [found] if found else [sys.executable, "-m", "symcalc"]


def run_once(argv: list[str]) -> tuple[float, float]:
    """CPU seconds (user + system, children included) and wall seconds of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure(runs: int) -> dict[str, tuple[float, float]]:
    """The minimum CPU and wall seconds of each command over ``runs`` interleaved runs."""
    base = [sys.executable, "-c", "import sympy"]
    command = symcalc_command()
    jobs = {"python -c 'import sympy'": base}
    jobs.update({label: [*command, *args] for label, args, _ in COMMANDS})
    for argv in jobs.values():  # warm the file cache once
        run_once(argv)
    best = {label: (float("inf"), float("inf")) for label in jobs}
    for _ in range(runs):
        for label, argv in jobs.items():
            cpu, wall = run_once(argv)
            best[label] = (min(best[label][0], cpu), min(best[label][1], wall))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    args = parser.parse_args()
    best = measure(args.runs)
    base_cpu, base_wall = best.pop("python -c 'import sympy'")
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!s}, "
        f"minimum of {args.runs} runs each"
    )
    print(f"baseline python -c 'import sympy': CPU {base_cpu:.3f} s, wall {base_wall:.3f} s")
    print(f"{'command':<30} {'CPU s':>7} {'ratio':>6} {'target':>7} {'wall s':>7} {'ratio':>6}")
    missed = 0
    for label, _, target in COMMANDS:
        cpu, wall = best[label]
        ratio = cpu / base_cpu
        verdict = "ok" if ratio <= target else "MISSED"
        missed += verdict != "ok"
        print(
            f"{label:<30} {cpu:7.3f} {ratio:6.2f} {'≤ ' + format(target, 'g'):>7} "
            f"{wall:7.3f} {wall / base_wall:6.2f}  {verdict}"
        )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
