from odoo import models

from ..tools import time_box


class IrCron(models.Model):
    _inherit = "ir.cron"

    @classmethod
    def _process_job(cls, cron_cr, job):
        # the sending loops of the module stop before the worker's time
        # limit: its clock starts with the first job of the worker's turn
        time_box.start_turn(cron_cr)
        return super()._process_job(cron_cr, job)

    def method_direct_trigger(self):
        # Run manually: a turn of its own (the cursor is the caller's, which
        # may have run other jobs before)
        time_box.end_turn()
        return super().method_direct_trigger()
