from odoo import api, fields, models

from ..customer_message import RENDERED_FIELDS

MANAGERS = "customer_messages.customer_messages_group_manager"
# the message's field, and the field of the audit keeping the template's
TEMPLATE_SNAPSHOTS = {
    "subject": "template_version_subject",
    "body_html": "template_version_body_html",
    "sms_body": "template_version_sms_body",
}


class CustomerMessage(models.Model):
    """The audit of a message, for managers: which version of its template
    it was sent with, kept as it was whatever becomes of the template.

    Who sent it (author_id, origin_ref), when (date), by which filter
    (recipient_filter) and to whom (its lines) are the message's own fields.
    The message keeps its own subject, body and SMS text, as sent; the
    template's are kept too when they differed (edited in the composer).
    """

    _inherit = "customer.message"

    template_version = fields.Char(
        string="Template version",
        readonly=True,
        copy=False,
        groups=MANAGERS,
        help="A fingerprint of the template's subject, body and SMS text (in "
        "every language) when the message was sent: the same version, the "
        "same texts.",
    )
    template_version_date = fields.Datetime(
        string="Template last changed on",
        readonly=True,
        copy=False,
        groups=MANAGERS,
        help="When the template was last changed before the message was sent.",
    )
    template_version_name = fields.Char(
        string="Template name",
        readonly=True,
        copy=False,
        groups=MANAGERS,
        help="The template's name when the message was sent (kept when the "
        "template is renamed or deleted).",
    )
    is_template_text = fields.Boolean(
        string="Sent with the template's text",
        readonly=True,
        copy=False,
        groups=MANAGERS,
        help="The subject, body and SMS text of the message were the "
        "template's, unchanged: the message's content is that version of "
        "the template.",
    )
    template_version_subject = fields.Char(
        string="Template subject",
        readonly=True,
        copy=False,
        groups=MANAGERS,
        help="The template's subject when the message was sent, kept when the "
        "message's own differed.",
    )
    template_version_body_html = fields.Html(
        string="Template body",
        readonly=True,
        copy=False,
        sanitize="email_outgoing",
        groups=MANAGERS,
        help="The template's body when the message was sent, kept when the "
        "message's own differed.",
    )
    template_version_sms_body = fields.Text(
        string="Template SMS text",
        readonly=True,
        copy=False,
        groups=MANAGERS,
        help="The template's SMS text when the message was sent, kept when the "
        "message's own differed.",
    )
    is_template_changed = fields.Boolean(
        string="Template changed since",
        compute="_compute_is_template_changed",
        groups=MANAGERS,
        help="The template's texts are no longer those the message was sent with.",
    )

    @api.depends("template_id", "template_version")
    def _compute_is_template_changed(self):
        versions = self.template_id._get_customer_message_versions()
        for message in self:
            current = versions.get(message.template_id.id)
            message.is_template_changed = bool(
                current
                and message.template_version
                and current[0] != message.template_version
            )

    def _hook_message_created(self):
        # called by _create_message (customer_message_keys.py), the gate
        # every message is made through
        result = super()._hook_message_created()
        # sudo: the audit is the system's record, which managers read
        self.filtered("template_id").sudo()._record_template_version()
        return result

    def _record_template_version(self):
        """Keep the template's version the messages are sent with, and the
        texts of it they send (subject, and body or SMS text) when they
        differ from the messages' own."""
        versions = self.template_id._get_customer_message_versions()
        for message in self:
            template = message.template_id
            version, date = versions[template.id]
            values = {
                "template_version": version,
                "template_version_date": date,
                "template_version_name": template.name,
                "is_template_text": True,
            }
            sent = ("subject", "sms_body" if message.channel == "sms" else "body_html")
            for fname in sent:
                if not message._holds_template_value(fname):
                    snapshot = TEMPLATE_SNAPSHOTS[fname]
                    values["is_template_text"] = False
                    values[snapshot] = template[RENDERED_FIELDS[fname]]
            message.write(values)
