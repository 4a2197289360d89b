"""The pgrestart scenario's side: the project's private PostgreSQL cluster,
restarted under the Odoo server, and what the restart leaves behind."""

import subprocess
import time

from .database import claims_in_doubt, look


class Cluster:
    """The project's private PostgreSQL cluster, restarted with its pg_ctl
    (dev/common.sh CM_PG_CTL: as its owner, with its data folder)."""

    def __init__(self, pg_ctl, database):
        self.pg_ctl = pg_ctl
        self.database = database

    def others_in_use(self, registry):
        """The other databases of the cluster that clients are connected to
        (other test runs...): restarting it would break them."""
        row = look(
            registry,
            "SELECT string_agg(DISTINCT datname, ', ') FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' "
            "AND datname NOT IN (%s, 'postgres')",
            [self.database],
        )
        return row and row[0]

    def restart(self, down):
        """Stop it (fast: clients are disconnected), wait, start it again."""
        subprocess.run(  # noqa: S603 - our own cluster
            [*self.pg_ctl, "-m", "fast", "-w", "stop"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(down)
        subprocess.run(  # noqa: S603
            [*self.pg_ctl, "-w", "-t", "60", "start"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


class Watch:
    """What a PostgreSQL restart leaves: the emails claimed by workers whose
    connection is gone, right after it and until they are all released."""

    def __init__(self, server, registry):
        self.server = server
        self.registry = registry
        self.restarted_at = None
        self.first = None
        self.most = (0, 0)
        self.cleared_after = None

    def restarted(self):
        """PostgreSQL answers again: a first look at once, before Odoo's cron
        workers are started again."""
        self.restarted_at = time.monotonic()
        self.look()
        print(
            f"pgrestart: Odoo's processes now: {self.server.describe(self.registry)}",
            flush=True,
        )

    def look(self):
        if self.restarted_at is None or self.cleared_after is not None:
            return
        doubt = claims_in_doubt(self.registry)
        if doubt is None:
            return
        if self.first is None:
            self.first = doubt
        self.most = tuple(map(max, self.most, doubt))
        if doubt == (0, 0):
            self.cleared_after = time.monotonic() - self.restarted_at

    def report(self):
        first = self.first or (0, 0)
        cleared = (
            f"none left {self.cleared_after:.0f} s after the restart"
            if self.cleared_after is not None
            else "still some at the end"
        )
        print(
            f"pgrestart: emails claimed by workers whose connection is gone: "
            f"{first[0]} unsettled and {first[1]} settled without their lines "
            f"right after the restart (at most {self.most[0]} and {self.most[1]}), "
            f"{cleared}",
            flush=True,
        )
