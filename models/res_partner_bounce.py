from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

# Bounces (Odoo's counter on the contact, res.partner.message_bounce) after
# which the module sends the address no more email; a hard bounce counts as
# many at once
BOUNCE_LIMIT = ("customer_messages.bounce_limit", 3)


class ResPartner(models.Model):
    """Bounces suppress an address the way a mail system does: a hard
    bounce (the address does not exist) at once, soft bounces (a full
    mailbox...) after a few; a later email accepted for it clears them.
    Odoo's bounce counter (message_bounce) is the count, left as Odoo
    manages it; the module also keeps which address bounced
    (email_bounced_address), and suspends an address only while it is the
    customer's current one: a new address is never suspended by the bounces
    of the old one, without any override of ``write``."""

    _inherit = "res.partner"

    email_bounce_reason = fields.Char(string="Last bounce", readonly=True, copy=False)
    email_bounce_date = fields.Datetime(string="Bounced on", readonly=True, copy=False)
    email_bounced_address = fields.Char(
        string="Bounced address",
        readonly=True,
        copy=False,
        help="The address (normalized) the bounces were counted for; empty: "
        "the contact's current one.",
    )
    email_bounce_count = fields.Integer(
        string="Bounces",
        compute="_compute_email_suppressed",
        help="The bounces of the contact's current address.",
    )
    email_suppressed = fields.Boolean(
        string="Email suspended",
        compute="_compute_email_suppressed",
        search="_search_email_suppressed",
        help="The address bounced too often: the module sends it no more email "
        "until the address changes or is tried again.",
    )

    @api.model
    def _get_bounce_limit(self):
        """Bounces that suspend an address (0: none ever does)."""
        return max(
            int(self.env["ir.config_parameter"].sudo().get_param(*BOUNCE_LIMIT)), 0
        )

    def _bounces_of_current_address(self):
        """The bounces counted for this contact's current address: none
        when they were counted for another address (it changed since)."""
        self.ensure_one()
        bounced = self.email_bounced_address
        if bounced and bounced != self.email_normalized:
            return 0
        return self.message_bounce

    @api.depends("message_bounce", "email_normalized", "email_bounced_address")
    def _compute_email_suppressed(self):
        limit = self._get_bounce_limit()
        for partner in self:
            partner.email_bounce_count = partner._bounces_of_current_address()
            partner.email_suppressed = (
                bool(limit) and partner.email_bounce_count >= limit
            )

    def _search_email_suppressed(self, operator, value):
        if operator != "in":
            return NotImplemented
        if True not in value:
            return ~self._get_email_suppressed_domain()
        return self._get_email_suppressed_domain()

    @api.model
    def _get_email_suppressed_domain(self):
        """The contacts whose current address is suspended: its bounces
        reached the limit (Odoo's counter), and they were counted for this
        address (or for an address not recorded: the current one)."""
        limit = self._get_bounce_limit()
        if not limit:
            return Domain.FALSE

        def to_sql(model, alias, query):
            # through _field_to_sql: the fields are flushed before the query
            bounces = model._field_to_sql(alias, "message_bounce", query)
            bounced = model._field_to_sql(alias, "email_bounced_address", query)
            current = model._field_to_sql(alias, "email_normalized", query)
            return SQL(
                "(COALESCE(%s, 0) >= %s AND (%s IS NULL OR %s = %s))",
                bounces,
                limit,
                bounced,
                bounced,
                current,
            )

        return Domain.custom(
            to_sql=to_sql,
            predicate=lambda partner: partner._bounces_of_current_address() >= limit,
        )

    @api.model
    def _bounce_cleared(self):
        return {
            "message_bounce": 0,
            "email_bounce_reason": False,
            "email_bounce_date": False,
            "email_bounced_address": False,
        }

    def _note_email_bounce(self, reason, hard=False, counted=False):
        """A bounce of these contacts' address: a hard one suspends it at
        once, a soft one counts one more (unless Odoo's bounce processing
        counted it already). The address that bounced is kept: the bounces
        of an address the contact no longer has do not count."""
        limit = self._get_bounce_limit()
        now = fields.Datetime.now()
        # sudo: a bounce is the mail system's news, whoever's email it was
        for partner in self.sudo():
            if partner._bounces_of_current_address():
                count = partner.message_bounce + (0 if counted else 1)
            else:
                # the first bounce of this address (Odoo's counter may hold
                # the bounces of the contact's former address)
                count = 1
            partner.write(
                {
                    "message_bounce": max(count, limit) if hard else count,
                    "email_bounce_reason": (reason or "")[:500],
                    "email_bounce_date": now,
                    "email_bounced_address": partner.email_normalized,
                }
            )

    def _message_receive_bounce(self, email, partner):
        """Odoo counts a bounce of these contacts (mail.thread.blacklist):
        when its counter held the bounces of a former address, the count
        restarts for the current one. Runs on bounces only."""
        former = self.filtered(
            lambda contact: contact.email_bounced_address
            and contact.email_bounced_address != contact.email_normalized
        )
        result = super()._message_receive_bounce(email, partner)
        # sudo: as _note_email_bounce, the mail system's news
        for contact in former.sudo():
            contact.write(
                {
                    "message_bounce": 1,
                    "email_bounced_address": contact.email_normalized,
                }
            )
        return result

    def _note_email_accepted(self):
        """An email for these contacts was accepted: their soft bounces no
        longer count."""
        # sudo: as above; only contacts with bounces are written
        bounced = self.sudo().filtered(
            lambda partner: partner.message_bounce and not partner.email_suppressed
        )
        if bounced:
            bounced.write(self._bounce_cleared())

    def action_retry_email_address(self):
        """Staff checked the address: it gets emails again."""
        self.check_access("write")
        # sudo: the bounce fields are the mail system's; the user may edit
        # these contacts (checked above)
        self.sudo().write(self._bounce_cleared())
        return True
