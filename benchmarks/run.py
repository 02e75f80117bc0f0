"""`make bench`: run every benchmark script; each writes benchmarks/results/<name>.json.

Benchmarks compare ratios measured within one run (the machines are noisy); tests never assert on
wall time. `python -m benchmarks.run ingest vae` runs a subset.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_") and m.name != "run")
    failed = []
    for name in names:
        t0 = time.time()
        print(f"==> benchmark {name}", flush=True)
        try:
            mod = importlib.import_module(f"benchmarks.{name}")
            sys.argv = [f"benchmarks/{name}.py"]  # scripts with their own flags run with defaults
            mod.main()
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            print(f"!! {name} failed: {type(exc).__name__}: {exc}", flush=True)
            failed.append(name)
        print(f"    {name}: {time.time() - t0:.1f}s", flush=True)
    print(f"results in {HERE / 'results'}; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
