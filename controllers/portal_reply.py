from urllib.parse import urlencode

from markupsafe import Markup

from odoo import http
from odoo.http import request

from .portal import CustomerMessagesPortal

# the longest reply taken from the portal's box
MAX_REPLY_LENGTH = 5000


class CustomerMessageReplyPortal(CustomerMessagesPortal):
    """The reply box of a message's page in the portal: the customer's text
    takes the same path as an email reply (customer.message.reply._land)."""

    @http.route(
        ["/my/messages/<int:recipient_id>/reply"],
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
    )
    def portal_my_customer_message_reply(self, recipient_id, body="", **kw):
        """A portal user answers a message of their own customer (the record
        rules, not a link's token, decide: another customer's line is a
        404); the form carries the CSRF token."""
        recipient_sudo = self._customer_message_check_access(recipient_id)
        if not recipient_sudo or not recipient_sudo._can_reply_in_portal(
            request.env.user
        ):
            raise request.not_found()
        text = (body or "").strip()[:MAX_REPLY_LENGTH]
        if text:
            paragraphs = Markup("").join(
                Markup("<p>%s</p>") % line for line in text.splitlines() if line
            )
            request.env["customer.message.reply"]._land(
                "portal",
                request.env.user.partner_id,
                paragraphs,
                lines=recipient_sudo,
                name=recipient_sudo.subject,
            )
        return request.redirect(
            recipient_sudo.access_url + "?" + urlencode({"replied": int(bool(text))})
        )
