import secrets

from odoo import fields, models
from odoo.exceptions import AccessError

# the token the SMS provider sends with each inbound SMS (STOP / START):
# without it, the webhook answers 404 (controllers/consent.py)
INBOUND_TOKEN_PARAM = "customer_messages.sms_inbound_token"
INBOUND_ROUTE = "/customer_messages/sms/inbound"
MANAGER_GROUP = "customer_messages.customer_messages_group_manager"


class ResConfigSettings(models.TransientModel):
    """Settings > Messages: the inbound SMS webhook's address and token, for
    the SMS provider's set-up, shown to Messages / Managers only; the token
    is made (or replaced) by a button, never typed."""

    _inherit = "res.config.settings"

    customer_messages_sms_inbound_url = fields.Char(
        string="Inbound SMS webhook",
        compute="_compute_customer_messages_sms_inbound",
        groups=MANAGER_GROUP,
    )
    customer_messages_sms_inbound_token = fields.Char(
        string="Inbound SMS token",
        compute="_compute_customer_messages_sms_inbound",
        groups=MANAGER_GROUP,
    )

    def _compute_customer_messages_sms_inbound(self):
        # sudo: the parameter is read for Messages / Managers only (the
        # fields' groups)
        token = (
            self.env["ir.config_parameter"].sudo().get_param(INBOUND_TOKEN_PARAM)
            or False
        )
        url = self.env["res.company"].get_base_url() + INBOUND_ROUTE
        for settings in self:
            settings.customer_messages_sms_inbound_url = url
            settings.customer_messages_sms_inbound_token = token

    def action_customer_messages_regenerate_sms_token(self):
        """A new random token: the provider's set-up needs it at once, the
        former one is refused from now on."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only a Messages / Manager may set the inbound SMS token.")
            )
        # sudo: a Messages / Manager (checked above) sets this one parameter
        self.env["ir.config_parameter"].sudo().set_param(
            INBOUND_TOKEN_PARAM, secrets.token_urlsafe(32)
        )
        return True

    def action_customer_messages_disable_sms_inbound(self):
        """No token: the webhook answers 404."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only a Messages / Manager may set the inbound SMS token.")
            )
        # sudo: a Messages / Manager (checked above) clears this one parameter
        self.env["ir.config_parameter"].sudo().set_param(INBOUND_TOKEN_PARAM, False)
        return True
