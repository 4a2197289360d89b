from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import consteq
from odoo.tools.misc import hmac

# The channels a customer chooses per category (customer.message.preference),
# and those each channel of a message uses.
PREFERENCE_CHANNELS = [
    ("email", "Email"),
    ("sms", "SMS"),
    ("portal", "Customer portal"),
]
MESSAGE_PREFERENCE_CHANNELS = {
    "email": ("email",),
    "portal": ("portal",),
    "portal_email": ("portal", "email"),
    "sms": ("sms",),
}
UNSUBSCRIBE_SCOPE = "customer_messages-unsubscribe"


class CustomerMessageCategory(models.Model):
    """What customers may turn off, per category and channel (their
    preferences), and the signed unsubscribe link of bulk mail."""

    _inherit = "customer.message.category"

    allow_opt_out = fields.Boolean(
        string="Customers may opt out",
        default=True,
        help="Customers may turn these messages off in the portal, per channel. "
        "Billing and legal notices may not be turned off.",
    )
    one_click_unsubscribe = fields.Boolean(
        string="One-click unsubscribe",
        help="Bulk mail (marketing): its emails carry the List-Unsubscribe headers "
        "(RFC 8058), so that mail clients offer an Unsubscribe button that opts "
        "the customer out of this category.",
    )

    @api.constrains("allow_opt_out", "one_click_unsubscribe")
    def _check_one_click_unsubscribe(self):
        if any(c.one_click_unsubscribe and not c.allow_opt_out for c in self):
            raise ValidationError(
                self.env._(
                    "One-click unsubscribe needs a category customers may opt out of."
                )
            )

    def _get_unsubscribe_token(self, partner_id):
        """The signature of the unsubscribe link of a customer for this
        category (the database secret, as Odoo's own links)."""
        self.ensure_one()
        # su: the database secret is read by the system
        return hmac(self.env(su=True), UNSUBSCRIBE_SCOPE, (partner_id, self.id))

    def _check_unsubscribe_token(self, partner_id, token):
        """Whether ``token`` signs the unsubscribe link of the customer for
        this category. Any text may come from the URL: compared as bytes,
        since ``consteq`` refuses non-ASCII strings (a TypeError, a 500)."""
        self.ensure_one()
        return (
            isinstance(token, str)
            and bool(token)
            and consteq(
                self._get_unsubscribe_token(partner_id).encode(), token.encode()
            )
        )

    def _get_unsubscribe_url(self, partner_id, base_url):
        self.ensure_one()
        token = self._get_unsubscribe_token(partner_id)
        return (
            f"{base_url}/customer_messages/unsubscribe/{partner_id}/{self.id}/{token}"
        )

    def _set_opt_out(self, partners, channels, opted_out=True, source=None):
        """Record the customers' choice for this category on the channels
        (one preference per customer, category and channel); each change is
        written in the consent log by the preferences themselves.

        :param source: how the change arrived (a key of CONSENT_SOURCES),
            for trusted code running as superuser (the unsubscribe link);
            otherwise the log says Customer portal or Staff after the user
        """
        self.ensure_one()
        if opted_out and not self.allow_opt_out:
            raise ValidationError(
                self.env._(
                    "%(category)s messages cannot be turned off.", category=self.name
                )
            )
        Preference = self.env["customer.message.preference"]
        if source:
            Preference = Preference.with_context(
                **self.env["customer.message.consent.log"]._get_source_context(source)
            )
        existing = Preference.search(
            [
                ("partner_id", "in", partners.ids),
                ("category_id", "=", self.id),
                ("channel", "in", list(channels)),
            ]
        )
        existing.filtered(lambda p: p.opted_out != opted_out).opted_out = opted_out
        if not opted_out:
            # no row: the customer receives; nothing to add
            return
        known = {(p.partner_id.id, p.channel) for p in existing}
        Preference.create(
            [
                {
                    "partner_id": partner.id,
                    "category_id": self.id,
                    "channel": channel,
                    "opted_out": opted_out,
                }
                for partner in partners
                for channel in channels
                if (partner.id, channel) not in known
            ]
        )
