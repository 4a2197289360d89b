from odoo import fields, models


class IrMailServer(models.Model):
    """How many emails of customer messages one SMTP session of this server
    carries: some relays accept only N messages per connection (one large
    European host allows 20); the module's sending loop then reconnects
    after N (mail.mail._deliver_in_sessions)."""

    _inherit = "ir.mail_server"

    customer_messages_session_limit = fields.Integer(
        string="Emails per connection",
        default=0,
        help="Customer messages: the sender closes the SMTP session and opens "
        "a new one after this many emails (0: no limit of its own, a session "
        "carries a chunk of up to 100 emails).",
    )

    _customer_messages_session_limit_positive = models.Constraint(
        "CHECK(customer_messages_session_limit >= 0)",
        "The emails per connection cannot be negative.",
    )
