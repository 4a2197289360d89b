from odoo import api, fields, models
from odoo.tools.mail import email_normalize

# Bounces (Odoo's counter on the contact, res.partner.message_bounce) after
# which the module sends the address no more email; a hard bounce counts as
# many at once
BOUNCE_LIMIT = ("customer_messages.bounce_limit", 3)


class ResPartner(models.Model):
    """Bounces suppress an address the way a mail system does: a hard
    bounce (the address does not exist) at once, soft bounces (a full
    mailbox...) after a few; a later email accepted for it clears them, as
    does a new address. Odoo's bounce counter is the one record of it."""

    _inherit = "res.partner"

    email_bounce_reason = fields.Char(string="Last bounce", readonly=True, copy=False)
    email_bounce_date = fields.Datetime(string="Bounced on", readonly=True, copy=False)
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

    @api.depends("message_bounce")
    def _compute_email_suppressed(self):
        limit = self._get_bounce_limit()
        for partner in self:
            partner.email_suppressed = bool(limit) and partner.message_bounce >= limit

    def _search_email_suppressed(self, operator, value):
        if operator != "in":
            return NotImplemented
        limit = self._get_bounce_limit()
        return [("message_bounce", ">=", limit)] if limit else [("id", "=", False)]

    def write(self, vals):
        changed = self.browse()
        if "email" in vals and "message_bounce" not in vals:
            changed = self.filtered(
                lambda partner: email_normalize(partner.email or "")
                != email_normalize(vals["email"] or "")
            )
        result = super().write(vals)
        if changed:
            # a new address starts with a clean record; sudo: whoever may
            # change the address (a customer in the portal...) clears it
            super(ResPartner, changed.sudo()).write(self._bounce_cleared())
        return result

    @api.model
    def _bounce_cleared(self):
        return {
            "message_bounce": 0,
            "email_bounce_reason": False,
            "email_bounce_date": False,
        }

    def _note_email_bounce(self, reason, hard=False, counted=False):
        """A bounce of these contacts' address: a hard one suspends it at
        once, a soft one counts one more (unless Odoo's bounce processing
        counted it already)."""
        limit = self._get_bounce_limit()
        now = fields.Datetime.now()
        # sudo: a bounce is the mail system's news, whoever's email it was
        for partner in self.sudo():
            count = partner.message_bounce + (0 if counted else 1)
            partner.write(
                {
                    "message_bounce": max(count, limit) if hard else count,
                    "email_bounce_reason": (reason or "")[:500],
                    "email_bounce_date": now,
                }
            )

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
