from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools.safe_eval import safe_eval

from .customer_message import CHANNELS
from .customer_message_document_mixin import INVOICE_POLICIES, PAYMENT_POLICIES


class IrActionsServer(models.Model):
    """Server actions (and so automation rules and scheduled actions) that
    send a customer message, through the same path as the composer."""

    _inherit = "ir.actions.server"

    state = fields.Selection(
        selection_add=[("customer_message", "Send customer message")],
        ondelete={"customer_message": "cascade"},
    )
    customer_message_template_id = fields.Many2one(
        "mail.template",
        string="Message template",
        domain=[("model", "=", "res.partner")],
        ondelete="restrict",
    )
    customer_message_channel = fields.Selection(
        selection=CHANNELS, string="Send to", default="email"
    )
    customer_message_partner_field_id = fields.Many2one(
        "ir.model.fields",
        string="Customer field",
        domain="[('model_id', '=', model_id), ('ttype', '=', 'many2one'), "
        "('relation', '=', 'res.partner')]",
        ondelete="cascade",
        help="The field of the records that holds the customer; the records "
        "themselves for customers, the customer of invoices and payments (which are "
        "then attached).",
    )
    customer_message_invoice_policy = fields.Selection(
        selection=INVOICE_POLICIES, string="Attach invoices", default="none"
    )
    customer_message_proforma_policy = fields.Selection(
        selection=INVOICE_POLICIES, string="Attach pro-forma invoices", default="none"
    )
    customer_message_payment_policy = fields.Selection(
        selection=PAYMENT_POLICIES, string="Attach payment receipts", default="none"
    )
    customer_message_domain = fields.Char(
        string="Customers to send to",
        default="[]",
        help="When the action runs without records (a scheduled action), it sends "
        "to the records of the model matching this filter.",
    )

    @api.constrains("customer_message_template_id")
    def _check_customer_message_template(self):
        self.customer_message_template_id._check_customer_message_template()

    def _name_depends(self):
        return [*super()._name_depends(), "customer_message_template_id"]

    def _generate_action_name(self):
        self.ensure_one()
        if self.state == "customer_message" and self.customer_message_template_id:
            return self.env._(
                "Send customer message %(template)s",
                template=self.customer_message_template_id.name,
            )
        return super()._generate_action_name()

    @api.model
    def _warning_depends(self):
        return [
            *super()._warning_depends(),
            "customer_message_template_id",
            "customer_message_partner_field_id",
        ]

    def _get_warning_messages(self):
        self.ensure_one()
        warnings = super()._get_warning_messages()
        if self.state == "customer_message" and not self.customer_message_template_id:
            warnings.append(self.env._("Choose the template of the customer message."))
        return warnings

    def _run_action_customer_message_multi(self, eval_context=None):
        """Send the message to the customers of the records the action runs
        on (or of the records matching its filter, for scheduled actions)."""
        if self._is_recompute():
            return False
        eval_context = eval_context or {}
        records = eval_context.get("records") or eval_context.get("record")
        if not records:
            model = self.env[self.model_id.model]
            domain = safe_eval(
                self.customer_message_domain or "[]", {"context": self.env.context}
            )
            records = model.search(Domain(domain))
        if not records:
            return False
        self.env["customer.message"].with_context(
            customer_messages_partner_field=self.customer_message_partner_field_id.name
        )._send_automated(self, records)
        return False
