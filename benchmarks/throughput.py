"""Loader throughput benchmark: a thin wrapper over ``sada-dali bench`` (same options).

Example: ``python benchmarks/throughput.py --images 512 --json benchmarks/throughput.json``.
See ``benchmarks/RESULTS.md`` for measured figures.
"""

import sys

from sada_dali.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
