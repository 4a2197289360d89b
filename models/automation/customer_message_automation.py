from odoo import fields, models


class CustomerMessage(models.Model):
    """The automation that sent a message: a recurring message's run or a
    server action (automation rules and scheduled actions included)."""

    _inherit = "customer.message"

    schedule_id = fields.Many2one(
        "customer.message.schedule",
        string="Recurring message",
        ondelete="set null",
        index="btree_not_null",
        help="The recurring message this run was sent by.",
    )
    server_action_id = fields.Many2one(
        "ir.actions.server",
        string="Server action",
        ondelete="set null",
        index="btree_not_null",
    )
