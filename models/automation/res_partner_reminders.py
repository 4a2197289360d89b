from odoo import fields, models


class ResPartner(models.Model):
    """What the reminder rules (customer.message.rule) read on customers: since
    when the customer has its status, and a pause of payment reminders."""

    _inherit = "res.partner"

    customer_status_date = fields.Date(
        string="Status since",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="When the customer status last changed.",
    )
    customer_reminder_pause = fields.Date(
        string="Reminders paused until",
        copy=False,
        tracking=True,
        groups="customer_messages.customer_messages_group_user",
        help="No payment reminder (reminder rules on invoices, dunning) is sent to "
        "this customer up to and including this day.",
    )

    def _hook_prepare_create(self, vals_list):
        # called by res.partner.create (res_partner.py): a new customer's
        # status dates from today
        vals_list = super()._hook_prepare_create(vals_list)
        today = fields.Date.context_today(self)
        for vals in vals_list:
            if vals.get("customer_status") and "customer_status_date" not in vals:
                vals["customer_status_date"] = today
        return vals_list

    def _hook_before_write(self, vals):
        # called by res.partner.write (res_partner.py): the customers whose
        # status changes get the date of the change
        before = super()._hook_before_write(vals)
        if "customer_status" in vals and "customer_status_date" not in vals:
            before["status_changed"] = self.filtered(
                lambda partner: partner.customer_status != vals["customer_status"]
            )
        return before

    def _hook_after_write(self, vals, before):
        result = super()._hook_after_write(vals, before)
        changed = before.get("status_changed")
        if changed:
            # sudo: the date follows a change the user was allowed to make
            changed.sudo().write(
                {"customer_status_date": fields.Date.context_today(self)}
            )
        return result
