from odoo import api, fields, models


class CustomerMessageReply(models.Model):
    """Unsubscribe by email: the List-Unsubscribe mailto of marketing emails
    goes to the alias customer-unsubscribe
    (data/consent/customer_message_reply_data.xml), which Odoo's mail
    gateway gives to customer.message.reply; its subject carries the
    signature of the one-click link."""

    _inherit = "customer.message.reply"

    state = fields.Selection(
        selection_add=[("unsubscribed", "Unsubscribe by email")],
        ondelete={"unsubscribed": "cascade"},
    )

    @api.model
    def _hook_message_new(self, msg_dict, custom_values):
        if custom_values.get("state") == "unsubscribed":
            return self._receive_unsubscribe_email(msg_dict)
        return super()._hook_message_new(msg_dict, custom_values)

    @api.model
    def _receive_unsubscribe_email(self, msg_dict):
        """The List-Unsubscribe mailto of a marketing email: its subject
        carries the customer, the category and the signature of the
        one-click link; a right one opts the customer out of the category by
        email, as the link does. Anything else is kept, unattached."""
        subject = msg_dict.get("subject") or ""
        partner, category = self._read_unsubscribe_subject(subject)
        sender = msg_dict.get("email_from") or ""
        if not partner:
            return self._land("email", sender, msg_dict.get("body") or "", name=subject)
        category._set_opt_out(partner, ["email"], source="unsubscribe")
        return self.sudo().create(
            {
                "channel": "email",
                "state": "unsubscribed",
                "name": subject,
                "sender": sender,
                "partner_id": partner.id,
                "company_id": partner.company_id.id or self.env.company.id,
            }
        )

    @api.model
    def _read_unsubscribe_subject(self, subject):
        """(customer, category) of a subject made by
        customer.message.recipient._get_unsubscribe_headers (``... [ID-ID-
        SIGNATURE]``), sudoed, or two empty records."""
        Partner = self.env["res.partner"].sudo()
        Category = self.env["customer.message.category"].sudo()
        token_part = subject.rpartition("[")[2].partition("]")[0]
        parts = token_part.split("-")
        if len(parts) != 3 or not all(part.isdigit() for part in parts[:2]):
            return Partner, Category
        partner_id, category_id = int(parts[0]), int(parts[1])
        if not all(0 < value < 2**31 for value in (partner_id, category_id)):
            return Partner, Category
        category = Category.browse(category_id).exists()
        partner = Partner.browse(partner_id).exists()
        if (
            not partner
            or not category
            or not category.one_click_unsubscribe
            or not category._check_unsubscribe_token(partner_id, parts[2])
        ):
            return Partner, Category
        return partner, category
