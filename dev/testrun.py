"""Run Odoo's test runner on a database and report its counts.

Driver mode (used by dev/test):

    python dev/testrun.py --log FILE -- ODOO_ARGS...

starts Odoo (in child mode) with ODOO_ARGS, keeps its whole log in FILE, shows
the warnings and errors in full (tracebacks included) and the progress of the
module's tests, then prints a plain summary line and exits non-zero when a test
failed, errored or was skipped, or when no test ran at all.

Child mode (``--child``) is Odoo's own command line with one addition: at exit
it writes the counts of the database's test report as JSON to the file named
by CM_TEST_REPORT.
"""

import json
import os
import re
import subprocess
import sys

RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>[A-Z]+) ")
PROGRESS = re.compile(r" INFO \S+ odoo\.addons\.customer_messages\.\S+: Starting ")
# A skipped test is a failure here: its name and reason are shown.
SKIPPED = re.compile(r" INFO \S+ \S+: skipped ")
# Python warnings (deprecations...) raised by Odoo's own code stay in the log
# file; the ones raised by this module's code are shown.
FOREIGN_WARNING = re.compile(r" WARNING \S+ py\.warnings: (?P<path>\S+?):\d+: ")


def child(argv):
    import atexit  # noqa: PLC0415

    from odoo.tests import result  # noqa: PLC0415

    reports = []
    init = result.OdooTestResult.__init__

    def recording_init(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if self.global_report is None:  # the registry's report, not a suite's
            reports.append(self)

    result.OdooTestResult.__init__ = recording_init

    def dump():
        counts = {"run": 0, "failures": 0, "errors": 0, "skipped": 0}
        for report in reports:
            counts["run"] += report.testsRun
            counts["failures"] += report.failures_count
            counts["errors"] += report.errors_count
            counts["skipped"] += report.skipped
        with open(os.environ["CM_TEST_REPORT"], "w", encoding="utf-8") as out:
            json.dump(counts, out)

    atexit.register(dump)
    sys.argv = ["odoo", *argv]
    from odoo.cli.command import main  # noqa: PLC0415

    main()


MODULE_PATHS = tuple(
    path for path in os.environ.get("CM_MODULE_PATHS", "").split(os.pathsep) if path
) or ("/",)


def driver(log_path, odoo_args):
    report_path = log_path + ".json"
    if os.path.exists(report_path):
        os.unlink(report_path)
    env = dict(os.environ, CM_TEST_REPORT=report_path)
    command = [sys.executable, __file__, "--child", *odoo_args]
    shown = False
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        for line in proc.stdout:
            log.write(line)
            record = RECORD.match(line)
            if record:
                shown = record["level"] in ("WARNING", "ERROR", "CRITICAL")
                warning = FOREIGN_WARNING.search(line)
                if warning and not warning["path"].startswith(MODULE_PATHS):
                    shown = False
                if SKIPPED.search(line):
                    shown = True
                if not shown and PROGRESS.search(line):
                    sys.stdout.write(line)
            if shown:
                sys.stdout.write(line)
        returncode = proc.wait()
    try:
        with open(report_path, encoding="utf-8") as report:
            counts = json.load(report)
    except (OSError, ValueError):
        counts = None
    return returncode, counts


def main():
    args = sys.argv[1:]
    if args and args[0] == "--child":
        return child(args[1:])
    log_path = args[args.index("--log") + 1]
    odoo_args = args[args.index("--") + 1 :]
    returncode, counts = driver(log_path, odoo_args)
    if counts is None:
        print(f"Odoo stopped (exit code {returncode}) before reporting its tests")
        print(f"Its log: {log_path}")
        return 1
    failed = counts["failures"] + counts["errors"]
    passed = counts["run"] - failed - counts["skipped"]
    with open(log_path + ".json", "w", encoding="utf-8") as out:
        json.dump(
            dict(counts, passed=passed, failed=failed, returncode=returncode), out
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
