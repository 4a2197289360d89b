from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools.safe_eval import safe_eval

from ..customer_message import CHANNELS
from ..customer_message_document_mixin import (
    INVOICE_POLICIES,
    PAYMENT_POLICIES,
    PROFORMA_POLICIES,
)


class IrActionsServer(models.Model):
    """Server actions (and so automation rules and scheduled actions) of the
    type "Send customer message": its settings, and its sending through the
    same path as the composer (customer.message._send_to_customers)."""

    _name = "ir.actions.server"
    _inherit = ["ir.actions.server", "customer.message.setup.mixin"]

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
        selection=PROFORMA_POLICIES, string="Attach pro-forma invoices", default="none"
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
        if records:
            self._send_customer_message_for_records(records)
        return False

    def _send_customer_message_for_records(self, records):
        """Send the action's message to the customers of the records, through
        customer.message._send_to_customers: once per customer and trigger,
        even if the rule fires again for the same records (or the same day,
        for a scheduled action).

        :return: the customer.message sent, if any
        """
        self.ensure_one()
        Message = self.env["customer.message"].with_context(
            customer_messages_partner_field=self.customer_message_partner_field_id.name
        )
        suffix = (
            f":{fields.Date.context_today(self)}" if self.usage == "ir_cron" else ""
        )
        keys = Message._get_trigger_keys(records, str(self.id), suffix)
        todo = Message._get_untriggered(records, keys)
        if not todo:
            return Message
        name = self.base_automation_id.name or self.name
        values = {
            "template_id": self.customer_message_template_id.id,
            "channel": self.customer_message_channel or "email",
            "invoice_policy": self.customer_message_invoice_policy or "none",
            "proforma_policy": self.customer_message_proforma_policy or "none",
            "payment_policy": self.customer_message_payment_policy or "none",
            "origin": "automated",
            "configured_uid": self._get_configurer().id,
            "origin_ref": name,
            "server_action_id": self.id,
            "recipient_filter": self.env._(
                "%(count)s %(model)s record(s) of %(action)s",
                count=len(todo),
                model=self.env["ir.model"]._get(records._name).name,
                action=name,
            ),
        }
        # an automation rule or an action run from a list answers at once:
        # the processing cron renders and delivers, as after the composer's
        # Send; a scheduled action runs in a cron already
        return Message.with_context(
            customer_messages_trigger_keys=keys
        )._send_to_customers(
            todo, values, process="auto" if self.usage == "ir_cron" else "cron"
        )
