from urllib.parse import quote

from odoo import models
from odoo.tools import email_normalize


class CustomerMessageRecipient(models.Model):
    _inherit = "customer.message.recipient"

    def _hook_email_headers(self, email_from):
        headers = super()._hook_email_headers(email_from)
        return {**headers, **self._get_unsubscribe_headers(email_from)}

    def _get_unsubscribe_headers(self, email_from):
        """The one-click unsubscribe headers (RFC 8058) of the email of this
        line, when its category offers it (marketing), else {}: computed
        without a query (the link is signed with the database secret, a
        cached parameter)."""
        self.ensure_one()
        category = self.message_id.category_id
        if not category.one_click_unsubscribe:
            return {}
        url = category._get_unsubscribe_url(self.partner_id.id, self.get_base_url())
        links = [f"<{url}>"]
        address = email_normalize(email_from or "")
        if address:
            subject = quote(f"Unsubscribe {category.name} {self.partner_id.id}")
            links.append(f"<mailto:{address}?subject={subject}>")
        return {
            "List-Unsubscribe": ", ".join(links),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
