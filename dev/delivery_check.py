"""Entry point of dev/delivery-check: the delivery checks against a real
multi-process Odoo server are the package dev/delivery (see its docstring).

    python dev/delivery_check.py --database cm_delivery --scenario kill [--count N]
"""

import sys
from pathlib import Path

# the SMTP sink it delivers to is the module's tests' (tests/smtp_sink.py)
sys.path.append(str(Path(__file__).resolve().parent.parent / "tests"))

from delivery.cli import main  # noqa: E402 - after the path to the sink

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
