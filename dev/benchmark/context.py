"""What the paths of one run share."""

from dataclasses import dataclass


@dataclass
class Context:
    """The run's environment (superuser, committed as Odoo's crons do), its
    measurement (measure.Meter), its cron workers (workers.CronWorkers, once
    started) and --queue-only."""

    env: object
    meter: object
    queue_only: bool = False
    workers: object = None
