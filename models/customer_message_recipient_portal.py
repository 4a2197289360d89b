from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

from .customer_message import PORTAL_CHANNELS
from .customer_message_recipient import PORTAL_STATES


class CustomerMessageRecipient(models.Model):
    """The portal side of a line: which lines customers see, its page's
    files, and what the customer does there (read, acknowledge)."""

    _inherit = "customer.message.recipient"

    def _compute_access_url(self):
        for recipient in self:
            recipient.access_url = f"/my/messages/{recipient.id}"

    # ------------------------------------------------------------------
    # PORTAL
    # ------------------------------------------------------------------

    @api.model
    def _get_portal_domain(self):
        """The lines customers see in the portal: published through a portal
        channel, real (not a test) and neither cancelled nor removed. The
        portal record rule says the same (security/customer_messages_rules.xml)."""
        return (
            Domain("channel", "in", PORTAL_CHANNELS)
            & Domain("state", "in", PORTAL_STATES)
            & Domain("origin", "!=", "test")
        )

    def _is_published_in_portal(self):
        """Whether the page of this line may be shown to the holder of its
        access token: published through a portal channel, and not erased.
        Test messages are included: their token only went to the staff
        address of the test."""
        self.ensure_one()
        return (
            self.channel in PORTAL_CHANNELS
            and self.state in PORTAL_STATES
            and not self.erased_date
        )

    def _get_portal_attachments(self):
        """The files of the page: the message's own files, then this
        customer's documents (stored files only, no links)."""
        self.ensure_one()
        attachments = self.message_id.attachment_ids | self.attachment_ids
        return attachments.filtered(lambda attachment: attachment.type == "binary")

    def _mark_read(self):
        """The customer opened the message: keep when, the first time."""
        self.filtered(lambda recipient: not recipient.read_date).write(
            {"read_date": fields.Datetime.now()}
        )

    def _acknowledge(self, user):
        """The customer acknowledged the message in the portal: keep when and
        who, the first time (a message that does not ask is refused).

        :param user: the logged-in portal user, or an empty recordset for
            the holder of the email's link
        """
        self.ensure_one()
        if not self.message_id.ask_acknowledgement:
            raise UserError(self.env._("This message does not ask to be acknowledged."))
        if not self.acknowledged_date:
            now = fields.Datetime.now()
            self.write(
                {
                    "acknowledged_date": now,
                    "acknowledged_uid": user.id,
                    "read_date": self.read_date or now,
                }
            )
