"""Entry point of dev/bench: the benchmark of customer messages against
Odoo's mass mailing is the package dev/benchmark (see its docstring).

    python dev/bench.py --database cm_bench [--count N] [--documents N] ...
"""

import sys

from benchmark.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
