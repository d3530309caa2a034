"""Minibatch SGD on a CSV file larger than the memory the process may use.

Run from the project root::

    python benchmarks/bench_sgd_memory.py                      # a 600 MiB file, 500 MiB limit
    python benchmarks/bench_sgd_memory.py --size-mb 200 --limit-mb 400

It writes a logistic-regression CSV (four features on scales 1 to 100, text labels) of
``--size-mb`` MiB, then runs ``symcalc.descend("logistic", path, target="label")`` with
default settings in a child process whose address space is capped at ``--limit-mb`` MiB
(``resource.setrlimit(RLIMIT_AS)``, set after the imports and a warm-up on a small file,
so the cap covers everything the fit allocates).  ``auto`` sees that the file does not
fit and chooses minibatch SGD over chunks.  The child reports what was chosen and why,
J, the training accuracy, the time and its peak resident memory; a second child tries to
load the file whole under the same cap, for comparison.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from symcalc.learn.descent import descend

    small, big, limit, whole = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
    descend("logistic", small, target="label", optimizer="sgd", epochs=1)  # kernels built

    def status(field):
        with open("/proc/self/status") as handle:
            return next(int(line.split()[1]) * 1024 for line in handle if line.startswith(field))

    before = status("VmRSS:")
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    started = time.perf_counter()
    try:
        if whole:
            from symcalc.learn.data import load_data

            load_data(big, "label")
            report = {"whole": "loaded"}
        else:
            result = descend("logistic", big, target="label")
            report = {
                "chosen": result.optimizer_chosen,
                "reason": result.reason,
                "loss": result.loss,
                "accuracy": result.training_accuracy,
                "data": result.data,
                "iterations": result.iterations,
            }
    except MemoryError:
        report = {"whole": "MemoryError"}
    report.update(
        seconds=time.perf_counter() - started,
        rss_before=before,
        peak_rss=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        vm_peak=status("VmPeak:"),
        limit=limit,
    )
    print(json.dumps(report))
    """
)


def block(rows: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    scales = np.array([1.0, 10.0, 50.0, 100.0])
    X = rng.standard_normal((rows, 4)) * scales + 5
    w = np.array([1.0, -0.5, 0.8, -1.2]) / scales
    y = rng.random(rows) < 1 / (1 + np.exp(-(0.2 + (X - 5) @ w)))
    buffer = io.StringIO()
    np.savetxt(buffer, X, fmt="%.6g", delimiter=",")
    labels = np.where(y, "yes", "no")
    return "".join(
        f"{a},{b}\n" for a, b in zip(buffer.getvalue().splitlines(), labels, strict=True)
    )


def write(path: Path, size: int) -> int:
    blocks = [block(50_000, seed) for seed in range(8)]
    with open(path, "w") as handle:
        handle.write("x1,x2,x3,x4,label\n")
        written, k = 0, 0
        while written < size:
            handle.write(blocks[k % len(blocks)])
            written += len(blocks[k % len(blocks)])
            k += 1
    return path.stat().st_size


def child(small: Path, big: Path, limit: int, whole: bool) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(small), str(big), str(limit), "1" if whole else "0"],
        capture_output=True,
        text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=600)
    parser.add_argument("--limit-mb", type=float, default=500)
    parser.add_argument("--folder", default=None, help="where to write the CSV (default: temp)")
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp())
    small, big = folder / "small.csv", folder / "big.csv"
    small.write_text("x1,x2,x3,x4,label\n" + block(300, 99))
    started = time.perf_counter()
    size = write(big, int(args.size_mb * 2**20))
    print(f"wrote {big}: {size / 2**20:.0f} MiB in {time.perf_counter() - started:.0f} s")
    limit = int(args.limit_mb * 2**20)
    mib = 2**20
    streamed = child(small, big, limit, whole=False)
    print(json.dumps(streamed, indent=1))
    if "error" not in streamed:
        before = streamed["rss_before"] / mib
        print(
            f"SGD on a {size / mib:.0f} MiB CSV under a {limit / mib:.0f} MiB address-space "
            f"limit: peak RSS {streamed['peak_rss'] / mib:.0f} MiB (of which {before:.0f} MiB "
            f"before the fit: Python, NumPy, SciPy, SymPy), VmPeak "
            f"{streamed['vm_peak'] / mib:.0f} MiB, {streamed['seconds']:.0f} s"
        )
    whole = child(small, big, limit, whole=True)
    print(f"loading it whole under the same limit: {whole.get('whole', whole)}")
    big.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
