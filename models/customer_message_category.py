from odoo import fields, models


class CustomerMessageCategory(models.Model):
    """What a message is about (Billing, Service / outages, Marketing,
    Legal...): customers opt out per category and channel, and a category may
    go to another contact of the customer than the customer itself."""

    _name = "customer.message.category"
    _description = "Customer Message Category"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(
        translate=True, help="What customers read about it on their preferences page."
    )
    requires_approval = fields.Boolean(
        string="Approval required",
        help="Staff's messages of this category wait for a Messages / Manager's "
        "approval whatever their number of customers (legal notices, outage "
        "notices...).",
    )
    recipient_route = fields.Selection(
        selection=[
            ("customer", "The customer"),
            ("invoice", "Its invoice address contact"),
        ],
        string="Emails go to",
        default="customer",
        required=True,
        help="Its invoice address contact: the customer's first contact of type "
        "Invoice address with a usable email address (else the customer itself).",
    )
