from odoo import fields, models


class AccountMove(models.Model):
    _inherit = "account.move"

    customer_message_ids = fields.Many2many(
        "customer.message",
        "customer_message_account_move_rel",
        "move_id",
        "message_id",
        string="Customer messages",
        groups="customer_messages.customer_messages_group_user",
        copy=False,
    )
    customer_message_count = fields.Integer(
        compute="_compute_customer_message_count",
        groups="customer_messages.customer_messages_group_user",
    )

    def _compute_customer_message_count(self):
        for move in self:
            move.customer_message_count = len(
                move.customer_message_ids.filtered(lambda m: m.state != "removed")
            )

    def action_view_customer_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.customer_message_action"
        )
        action["domain"] = [("invoice_ids", "in", self.ids)]
        return action
