from odoo import api, fields, models

from ..sms_tracker import CONSENT_SOURCE_KEY
from .customer_message_category import PREFERENCE_CHANNELS

# How a consent change arrived (the "source" of a log line).
CONSENT_SOURCES = [
    ("portal", "Customer portal"),
    ("unsubscribe", "Unsubscribe link"),
    ("sms_keyword", "SMS keyword (STOP / START)"),
    ("sms_provider", "SMS provider"),
    ("staff", "Staff"),
    ("system", "System"),
    ("complaint", "Complaint (feedback loop)"),
]
# CONSENT_SOURCE_KEY: the context key trusted code (running as superuser)
# sets to say how the change arrived; ignored for everybody else, who cannot
# pass for another source over RPC.


class CustomerMessageConsentLog(models.Model):
    """One change of what a customer agrees to receive: who, when, how and
    what. Written by the system only, through ``_record``, which every path
    that changes a preference (customer.message.preference create / write)
    or the phone blacklist (phone.blacklist _add / _remove) calls; read by
    staff on the customer's form."""

    _name = "customer.message.consent.log"
    _description = "Customer Consent Change"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    date = fields.Datetime(
        string="Changed on", required=True, readonly=True, default=fields.Datetime.now
    )
    user_id = fields.Many2one(
        "res.users",
        string="Changed by",
        readonly=True,
        ondelete="set null",
        help="The user who made the change: the portal customer, the staff "
        "member, or the public user for an unsubscribe link or an SMS.",
    )
    # cascade: a contact's consent log goes with the contact, as its
    # preferences do
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        "res.company",
        readonly=True,
        index=True,
        ondelete="cascade",
        help="The customer's company when it changed (none: a contact shared "
        "by every company).",
    )
    source = fields.Selection(
        selection=CONSENT_SOURCES,
        string="Changed through",
        required=True,
        readonly=True,
    )
    category_id = fields.Many2one(
        "customer.message.category",
        readonly=True,
        ondelete="set null",
        help="Empty for an SMS keyword or the SMS provider: the number stops "
        "(or starts) receiving every SMS.",
    )
    channel = fields.Selection(
        selection=PREFERENCE_CHANNELS, required=True, readonly=True
    )
    opted_out = fields.Boolean(
        string="Opted out",
        readonly=True,
        help="Ticked: the customer turned these messages off; else back on.",
    )
    number = fields.Char(
        string="Phone number",
        readonly=True,
        help="The number added to or removed from the phone blacklist.",
    )

    @api.model
    def _get_source(self):
        """How the change being recorded arrived: the context's word when
        trusted code (superuser) says it, else the kind of user making it."""
        source = self.env.context.get(CONSENT_SOURCE_KEY)
        if self.env.su:
            return source if source in dict(CONSENT_SOURCES) else "system"
        return "portal" if self.env.user._is_portal() else "staff"

    @api.model
    def _get_source_context(self, source):
        """The context trusted code (superuser) sets to record changes as
        arriving through ``source``."""
        return {CONSENT_SOURCE_KEY: source}

    @api.model
    def _record(self, changes):
        """The one gate of the consent log: record changes made just now by
        the current user.

        :param changes: a list of dicts with ``partner`` (a res.partner or an
            empty recordset), ``category`` (idem), ``channel``, ``opted_out``
            and optionally ``number``
        """
        if not changes:
            return self.browse()
        source = self._get_source()
        values_list = [
            {
                "user_id": self.env.uid,
                "partner_id": change["partner"].id,
                # sudo: the company of a customer the caller just changed
                "company_id": change["partner"].sudo().company_id.id,
                "source": source,
                "category_id": change["category"].id,
                "channel": change["channel"],
                "opted_out": change["opted_out"],
                "number": change.get("number") or False,
            }
            for change in changes
        ]
        # sudo: nobody has create access on the log; these lines describe a
        # change the caller has just made under its own access rights
        return self.sudo().create(values_list)
