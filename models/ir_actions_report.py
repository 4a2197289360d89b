from odoo import api, models

# The idle wait (ms) wkhtmltopdf grants the page's JavaScript before printing
# the documents this module renders (Odoo's report.print_delay, 1000 by
# default, is for all reports).
PRINT_DELAY = "customer_messages.report_print_delay"


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    @api.model
    def _build_wkhtmltopdf_args(
        self,
        paperformat_id,
        landscape,
        specific_paperformat_args=None,
        set_viewport_size=False,
    ):
        """The documents of customer messages are printed without Odoo's
        idle JavaScript wait: invoices, pro-formas and payment receipts are
        plain QWeb with no script to wait for, and the wait is most of each
        PDF's time. ``customer_messages.report_print_delay`` sets another
        wait for them (e.g. for a customised layout that runs scripts)."""
        args = super()._build_wkhtmltopdf_args(
            paperformat_id,
            landscape,
            specific_paperformat_args=specific_paperformat_args,
            set_viewport_size=set_viewport_size,
        )
        if not self.env.context.get("customer_messages_document"):
            return args
        delay = self.env["ir.config_parameter"].sudo().get_param(PRINT_DELAY, "0")
        if "--javascript-delay" in args:
            args[args.index("--javascript-delay") + 1] = str(int(delay))
        return args
