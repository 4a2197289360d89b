"""Entry point of dev/bench: the benchmark of customer messages against
Odoo's mass mailing is the package dev/benchmark (see its docstring).

    python dev/bench.py --database cm_bench [--count N] [--documents N] ...
"""

import sys
from pathlib import Path

# the SMTP sink it delivers to is the module's tests' (tests/smtp_sink.py)
sys.path.append(str(Path(__file__).resolve().parent.parent / "tests"))

from benchmark.cli import main  # noqa: E402 - after the path to the sink

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
