"""CPU time and memory of the run's processes, read from /proc: the Odoo
processes (this one and the cron workers), the wkhtmltopdf processes they
ran, the SMTP server and the PostgreSQL backends of the run's database."""

import gc
import os
import re

from odoo import sql_db


def process_cpu(pid, children=False):
    """CPU seconds (user + system) a process has used, 0 once it is gone;
    with children, the CPU of its children that ended instead (wkhtmltopdf
    for Odoo's)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """The CPU time and memory of one run's processes; ``worker_pids`` are
    the cron workers' once they are started."""

    def __init__(self, database, smtp_pid):
        self.database = database
        self.smtp_pid = smtp_pid
        self.worker_pids = []
        # the PostgreSQL backends of the run's database seen so far: {pid:
        # CPU seconds when last read}, kept after they end (their CPU is then
        # lost to /proc, so the last reading stands)
        self.backend_cpu = {}
        self.marks = None  # CPU times taken during the path being measured

    def odoo_pids(self):
        """The Odoo processes of the run: this one and the cron workers."""
        return [os.getpid(), *self.worker_pids]

    def reset_peak_rss(self):
        """Start the peak resident memory (VmHWM) of the Odoo processes
        afresh; return their resident memory now."""
        gc.collect()
        for pid in self.odoo_pids():
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
                    clear_refs.write("5")
            except OSError:
                pass
        return self.memory("VmRSS")

    def peak_rss(self):
        """{process: peak resident memory in MB since reset_peak_rss()}."""
        return self.memory("VmHWM")

    def memory(self, key):
        """{process: the /proc status entry ``key`` (VmRSS, VmHWM) in MB} of
        the Odoo processes."""
        values = {}
        for index, pid in enumerate(self.odoo_pids()):
            try:
                with open(f"/proc/{pid}/status") as status:
                    found = re.search(
                        rf"^{key}:\s+(\d+) kB", status.read(), re.MULTILINE
                    )
            except OSError:
                continue
            if found:
                label = "bench" if not index else f"cron worker {index}"
                values[label] = int(found.group(1)) / 1024
        return values

    def backends_cpu(self):
        """CPU seconds used so far by the PostgreSQL backends serving the
        run's database (not the other databases' or the server's own
        processes)."""
        with sql_db.db_connect(self.database).cursor() as cr:
            cr.execute(
                "SELECT pg_stat_clear_snapshot(); "
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            )
            pids = [pid for (pid,) in cr.fetchall()]
        for pid in {*pids, *self.backend_cpu}:
            cpu = process_cpu(pid)
            if cpu:
                self.backend_cpu[pid] = cpu
        return sum(self.backend_cpu.values())

    def cpu_times(self):
        """CPU seconds used so far by each group of the run's processes."""
        pids = self.odoo_pids()
        return {
            "Odoo": sum(map(process_cpu, pids)),
            "wkhtmltopdf": sum(process_cpu(pid, children=True) for pid in pids),
            "SMTP server": process_cpu(self.smtp_pid),
            "PostgreSQL": self.backends_cpu(),
        }

    def mark_queued(self):
        """A path's emails are queued: what follows is delivery."""
        if self.marks is not None:
            self.marks["queued"] = self.cpu_times()

    def measured(self, run, *args):
        """Run one path, adding the CPU time each process group used to its
        result, in all and to deliver, and the peak memory of the Odoo
        processes."""
        self.marks = {}
        start_rss = self.reset_peak_rss()
        before = self.cpu_times()
        try:
            result = run(*args)
        finally:
            marks, self.marks = self.marks, None
        after = self.cpu_times()
        result.peak_rss = self.peak_rss()
        result.start_rss = start_rss
        result.cpu = {group: after[group] - before[group] for group in after}
        queued = marks.get("queued", before)
        result.deliver_cpu = {group: after[group] - queued[group] for group in after}
        return result
