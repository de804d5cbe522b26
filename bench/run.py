"""Runs every benchmark script in this folder (bench_*.py), one after another, and prints their figures.

bench/surge.py, the viral-day surge on the whole stack, takes up to 20 minutes and runs on its own:
`make bench-surge`.
"""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main():
    scripts = sorted(HERE.glob("bench_*.py"))
    if len(sys.argv) > 1:
        scripts = [script for script in scripts if any(name in script.name for name in sys.argv[1:])]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        if subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode != 0:
            failed.append(script.name)
    if failed:
        sys.exit(f"Benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
