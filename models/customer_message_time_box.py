from odoo import api, models

from ..tools import time_box


class CustomerMessage(models.Model):
    """The sending crons yield before the cron worker's time limit: their
    loops (the batches of _process, the chunks and emails of
    mail.mail._send_queued_in_chunks) stop once half the limit is spent
    (tools/time_box.py), and the run ends by triggering the cron again, so
    that the rest goes at once, in a new turn of a worker. A slow relay
    slows the sending down; it never gets a worker killed."""

    _inherit = "customer.message"

    @api.model
    def _out_of_time(self):
        """Whether the sending of this cron run must stop now."""
        return time_box.expired(self.env)

    @api.model
    def _end_sending_run(self):
        """The end of a run of a sending cron: the sending crons are woken
        for the next try of deferred emails and, when the run stopped for
        time, this cron runs again at once (reporting nothing left, so
        that Odoo ends this job instead of calling it again in the same
        turn)."""
        self.env["mail.mail"].sudo()._trigger_next_try()
        cron_id = self.env.context.get("cron_id")
        if not cron_id or not self._out_of_time():
            return
        # sudo: the cron running this is triggered again, whoever it runs as
        self.env["ir.cron"].sudo().browse(cron_id)._trigger()
        if self.env.context.get("ir_cron_progress_id"):
            self.env["ir.cron"]._commit_progress(remaining=0)
