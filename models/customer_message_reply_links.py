from odoo import api, fields, models
from odoo.tools import formataddr

# The aliases of data/customer_message_reply_data.xml: where customers'
# replies and the List-Unsubscribe mailto go
REPLY_ALIAS = "customer_messages.mail_alias_customer_message_reply"
UNSUBSCRIBE_ALIAS = "customer_messages.mail_alias_customer_message_unsubscribe"


class CustomerMessageCategory(models.Model):
    _inherit = "customer.message.category"

    reply_user_id = fields.Many2one(
        "res.users",
        string="Replies go to",
        domain=[("share", "=", False)],
        help="The user who gets an activity for each customer reply to a message "
        "of this category. Empty: the message's author.",
    )


class CustomerMessage(models.Model):
    _inherit = "customer.message"

    reply_count = fields.Integer(
        string="Replies",
        compute="_compute_reply_count",
        help="Customer replies attached to the lines of this message.",
    )

    def _compute_reply_count(self):
        # sudo: a count per message the user reads; replies follow their
        # message's company
        counts = dict(
            self.env["customer.message.reply"]
            .sudo()
            ._read_group(
                [
                    ("customer_message_id", "in", self.ids),
                    ("state", "=", "attached"),
                ],
                ["customer_message_id"],
                ["__count"],
            )
        )
        for message in self:
            message.reply_count = counts.get(message._origin, 0)

    def action_view_replies(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.customer_message_reply_action"
        )
        action["domain"] = [
            ("customer_message_id", "=", self.id),
            ("state", "=", "attached"),
        ]
        action["context"] = {}
        return action


class CustomerMessageRecipient(models.Model):
    _inherit = "customer.message.recipient"

    reply_ids = fields.One2many(
        "customer.message.reply",
        "recipient_id",
        string="Replies",
        readonly=True,
        groups="customer_messages.customer_messages_group_user",
    )
    is_replied = fields.Boolean(
        string="Replied",
        readonly=True,
        help="The customer answered this message (by email, in the portal or by SMS).",
    )
    last_reply_date = fields.Datetime(string="Last reply", readonly=True)

    @api.model
    def _get_reply_alias_address(self, xmlid, company):
        """The address of one of the module's aliases on the company's alias
        domain (Settings > Technical > Email > Alias Domains), or None when
        the alias or the domain is missing."""
        # sudo: aliases and their domain are configuration, read to address
        # the emails
        # the id from Odoo's cache of XML ids: no query per email (env.ref
        # would check that the record exists)
        alias_id = self.env["ir.model.data"]._xmlid_to_res_id(
            xmlid, raise_if_not_found=False
        )
        alias = self.env["mail.alias"].sudo().browse(alias_id) if alias_id else None
        domain = (
            (company.sudo().alias_domain_id or alias.alias_domain_id) if alias else None
        )
        if not alias or not alias.alias_name or not domain:
            return None
        return f"{alias.alias_name}@{domain.name}"

    def _get_reply_to(self, email_from):
        """Where the customer's reply goes: the replies' alias, which Odoo's
        mail gateway routes back to this line by the email's Message-Id
        (kept on the line as ``email_reference``); the sender without it."""
        self.ensure_one()
        if self.message_id.test_email:
            # a test goes to staff: their answers stay in their mailbox
            return email_from
        company = self.message_id.company_id
        address = self._get_reply_alias_address(REPLY_ALIAS, company)
        if not address:
            return email_from
        return formataddr((company.name or "", address))

    def _can_reply_in_portal(self, user):
        """Whether ``user`` may answer this line from its portal page: a
        portal user of the line's customer (staff and the holder of the
        email's link answer by email)."""
        self.ensure_one()
        return bool(
            self.partner_id
            and user.share
            and not user._is_public()
            and user.partner_id.commercial_partner_id
            == self.partner_id.commercial_partner_id
            and self.message_id.origin != "test"
        )
