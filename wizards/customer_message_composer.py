from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from ..models.customer_message import CHANNELS, PORTAL_CHANNELS
from ..tools import sms as sms_tools
from ..tools.placeholders import placeholders_to_qweb


class CustomerMessageComposer(models.TransientModel):
    """Compose a customer message: pick one customer or filter many, write or
    pick the content, choose documents, preview, test, confirm, send. It only
    holds the choices; customer.message does the sending."""

    _name = "customer.message.composer"
    _inherit = ["customer.message.document.mixin"]
    _description = "Customer Message Composer"

    step = fields.Selection(
        selection=[("compose", "Compose"), ("confirm", "Confirm")], default="compose"
    )
    mode = fields.Selection(
        selection=[("single", "One customer"), ("mass", "Mass sending")],
        default="single",
        required=True,
    )
    # --- recipients
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        help="Search by Customer ID, login, name, email or phone.",
    )
    partner_ids = fields.Many2many(
        "res.partner", string="Customers", help="Exactly these customers."
    )
    filter_login = fields.Char(string="Login")
    status_new = fields.Boolean(string="New")
    status_active = fields.Boolean(string="Active")
    status_inactive = fields.Boolean(string="Inactive")
    status_blocked = fields.Boolean(string="Blocked")
    billing_recurring = fields.Boolean(string="Recurring payments")
    billing_prepaid = fields.Boolean(string="Prepaid")
    filter_name = fields.Char(string="Full name")
    filter_email = fields.Char(string="Email")
    filter_phone = fields.Char(string="Phone number")
    date_added_from = fields.Date(string="Date added from")
    date_added_to = fields.Date(string="Date added to")
    category = fields.Selection(
        selection=[
            ("all", "All"),
            ("person", "Private person"),
            ("company", "Company"),
        ],
        default="all",
        required=True,
    )
    reseller_ids = fields.Many2many(
        "res.partner",
        "customer_message_composer_reseller_rel",
        string="Resellers",
        domain=[("is_reseller", "=", True)],
    )
    location_ids = fields.Many2many("customer.location", string="Locations")
    tariff_ids = fields.Many2many("customer.tariff", string="Tariff plans")
    service_internet = fields.Boolean(string="Internet service")
    service_voice = fields.Boolean(string="Voice service")
    service_custom = fields.Boolean(string="Custom service")
    advanced_domain = fields.Char(string="Advanced filter", default="[]")
    recipient_count = fields.Integer(compute="_compute_recipients")
    excluded_count = fields.Integer(compute="_compute_recipients")
    exclusion_summary = fields.Html(compute="_compute_recipients")
    first_recipient_id = fields.Many2one("res.partner", compute="_compute_recipients")
    recipient_error = fields.Char(compute="_compute_recipients")
    # --- content
    channel = fields.Selection(
        selection=CHANNELS, string="Send to", default="email", required=True
    )
    template_id = fields.Many2one(
        "mail.template", domain=[("model", "=", "res.partner")]
    )
    category_id = fields.Many2one(
        "customer.message.category",
        string="Message category",
        help="What the message is about (by default, its template's): customers "
        "who turned this category off on the channel are excluded.",
    )
    template_name = fields.Char(
        string="New template name",
        help="The name under which Save as new template saves this message.",
    )
    subject = fields.Char(compute="_compute_content", store=True, readonly=False)
    body_html = fields.Html(
        string="Message",
        compute="_compute_content",
        store=True,
        readonly=False,
        sanitize="email_outgoing",
    )
    sms_body = fields.Text(string="SMS text")
    # the model Odoo's placeholder tool offers the fields of
    render_model = fields.Char(default="res.partner", readonly=True)
    attachment_ids = fields.Many2many("ir.attachment", string="Attachments")
    can_edit_templates = fields.Boolean(compute="_compute_can_edit_templates")
    # --- documents
    invoice_ids = fields.Many2many(
        "account.move",
        string="Invoices and pro-formas",
        groups="account.group_account_invoice,account.group_account_readonly",
        domain=[
            ("move_type", "=", "out_invoice"),
            ("state", "in", ("draft", "posted")),
        ],
    )
    payment_ids = fields.Many2many(
        "account.payment",
        string="Payments",
        # confirmed payments only: a draft has no receipt (nor a number)
        domain=[
            ("payment_type", "=", "inbound"),
            ("state", "in", ("in_process", "paid")),
        ],
        groups="account.group_account_invoice,account.group_account_readonly",
    )
    scheduled_date = fields.Datetime(string="Send at", help="Leave empty to send now.")
    needs_approval = fields.Boolean(compute="_compute_needs_approval")
    fallback_channel = fields.Selection(
        [("sms", "SMS"), ("email", "Email")],
        string="If not reached, send by",
        help="Customers it does not reach (no valid email address, a failed "
        "delivery, or unread in the portal after the hours given) get it on this "
        "channel, once.",
    )
    fallback_hours = fields.Integer(string="Unread after (hours)", default=24)
    ask_acknowledgement = fields.Boolean(
        string="Ask to acknowledge",
        help="The portal page offers an I acknowledge button; the history shows "
        "who acknowledged it and when.",
    )
    scheduled_in_customer_tz = fields.Boolean(
        string="In each customer's time zone",
        help="Each customer gets it at this time of day in their own time zone.",
    )
    # --- preview and test
    preview_index = fields.Integer(default=0)
    preview_partner_id = fields.Many2one(
        "res.partner",
        string="Preview as",
        compute="_compute_preview_partner",
        store=True,
        readonly=False,
        help="Any recipient of the message: search by Customer ID, login, name, "
        "email or phone.",
    )
    preview_position = fields.Char(compute="_compute_preview_position")
    # what the "Preview as" picker offers: the recipients who can receive the
    # message (see res.partner._search_customer_message_sendable)
    preview_partner_filter = fields.Char(compute="_compute_preview_partner_filter")
    preview_subject = fields.Char(compute="_compute_preview")
    preview_body = fields.Html(compute="_compute_preview")
    preview_sms_body = fields.Text(string="SMS preview", compute="_compute_preview")
    sms_segment_info = fields.Char(
        string="SMS size",
        compute="_compute_sms_segments",
        help="As rendered for the first recipient: placeholders change the length.",
    )
    sms_total_segments = fields.Integer(
        string="SMS segments in all", compute="_compute_sms_segments"
    )
    currency_id = fields.Many2one(
        "res.currency", default=lambda self: self.env.company.currency_id
    )
    sms_cost = fields.Float(
        string="Estimated cost",
        compute="_compute_sms_segments",
        help="Segments in all times customer_messages.sms_price_per_segment, "
        "the price your SMS provider charges per segment (in the company's "
        "currency).",
    )
    preview_documents = fields.Html(compute="_compute_preview")
    test_partner_id = fields.Many2one("res.partner", string="Test with Customer ID")
    test_email = fields.Char(
        string="Test address", default=lambda self: self.env.user.email
    )
    test_phone = fields.Char(
        string="Test number",
        default=lambda self: self.env.user.phone,
        help="The SMS test goes to this number (international format, e.g. "
        "+32 470 12 34 56).",
    )

    # The recipients (filters, counts, exclusions) are computed in
    # customer_message_composer_recipients.py.

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        ids = self.env.context.get("active_ids") or []
        if model == "res.partner" and ids:
            if len(ids) == 1:
                values.update(mode="single", partner_id=ids[0])
            else:
                values.update(mode="mass", partner_ids=[fields.Command.set(ids)])
        elif model == "account.move" and ids:
            moves = self.env["account.move"].browse(ids)
            partners = moves.partner_id
            values["invoice_ids"] = [fields.Command.set(moves.ids)]
            if len(partners) == 1:
                values.update(mode="single", partner_id=partners.id)
            else:
                values.update(
                    mode="mass", partner_ids=[fields.Command.set(partners.ids)]
                )
        return values

    # ------------------------------------------------------------------
    # COMPUTES
    # ------------------------------------------------------------------

    @api.depends("template_id")
    def _compute_content(self):
        for composer in self:
            if composer.template_id:
                composer.subject = composer.template_id.subject
                composer.body_html = composer.template_id.body_html
            else:
                composer.subject = composer.subject or False
                composer.body_html = composer.body_html or False

    @api.onchange("template_id")
    def _onchange_template_settings(self):
        # the template's channel, SMS text and documents come with it
        if self.template_id:
            self.update(self.template_id._get_customer_message_settings())
            if self.template_id.customer_message_category_id:
                self.category_id = self.template_id.customer_message_category_id

    @api.constrains("template_id")
    def _check_template_model(self):
        self.template_id._check_customer_message_template()

    @api.depends("recipient_count", "category_id")
    def _compute_needs_approval(self):
        threshold = self.env["customer.message"]._get_approval_threshold()
        for composer in self:
            composer.needs_approval = bool(composer.recipient_count) and (
                composer.category_id.requires_approval
                or 0 < threshold < composer.recipient_count
            )

    def _compute_can_edit_templates(self):
        can_edit = self.env.user.has_group(
            "mail.group_mail_template_editor"
        ) and self.env["mail.template"].has_access("create")
        for composer in self:
            composer.can_edit_templates = can_edit

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            # views too: the web client reads them when the action is the
            # "next" of a notification (which the server does not complete)
            "views": [(False, "form")],
            "target": "new",
            "name": self.env._("Send message"),
        }

    def _get_body(self):
        """The body to send: the {{ placeholders }} typed in its text become
        QWeb outputs; a template's body is kept as it is."""
        if self.template_id and self.body_html == self.template_id.body_html:
            return self.body_html
        return placeholders_to_qweb(self.body_html)

    @api.depends("channel", "preview_sms_body", "recipient_count")
    def _compute_sms_segments(self):
        price = float(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_messages.sms_price_per_segment", 0)
            or 0
        )
        for composer in self:
            if composer.channel != "sms" or not composer.preview_sms_body:
                composer.sms_segment_info = False
                composer.sms_total_segments = 0
                composer.sms_cost = 0
                continue
            encoding, length, count = sms_tools.segments(composer.preview_sms_body)
            composer.sms_segment_info = self.env._(
                "%(count)s SMS of %(length)s characters (%(encoding)s) each",
                count=count,
                length=length,
                encoding=encoding,
            )
            composer.sms_total_segments = count * composer.recipient_count
            composer.sms_cost = composer.sms_total_segments * price

    def _prepare_message_values(self):
        self.ensure_one()
        return {
            "subject": self.subject,
            "body_html": self._get_body(),
            "sms_body": self.sms_body,
            "channel": self.channel,
            "ask_acknowledgement": self.ask_acknowledgement
            and self.channel in PORTAL_CHANNELS,
            "fallback_channel": self.fallback_channel
            if self.fallback_channel != self.channel
            else False,
            "fallback_hours": self.fallback_hours,
            "template_id": self.template_id.id,
            "category_id": self.category_id.id,
            "lang": self.template_id.lang or "{{ object.lang }}",
            # _origin: the records themselves, also while the form is edited
            "attachment_ids": [fields.Command.set(self.attachment_ids._origin.ids)],
            # sudo: the picked documents, empty for users who cannot pick them
            "invoice_ids": [fields.Command.set(self.sudo().invoice_ids._origin.ids)],
            "payment_ids": [fields.Command.set(self.sudo().payment_ids._origin.ids)],
            "invoice_policy": self.invoice_policy,
            "proforma_policy": self.proforma_policy,
            "payment_policy": self.payment_policy,
            "document_date_from": self.document_date_from,
            "document_date_to": self.document_date_to,
            "scheduled_date": self.scheduled_date,
            "scheduled_in_customer_tz": bool(
                self.scheduled_date and self.scheduled_in_customer_tz
            ),
            "recipient_filter": self._describe_filter(),
        }

    def action_send(self):
        """Create the message and hand it to the sending cron (woken at
        once); open it in the history right away: the dialog does not wait
        for the rendering, the documents and the delivery. A composition
        sends once: a second Send opens the message made by the first (see
        customer_message_composer_send_once.py)."""
        message = self._lock_for_sending()
        if not message:
            self._check_ready()
            self._check_recipients()
            message = self.env["customer.message"]._send_to_customers(
                self._get_recipients(), self._prepare_message_values(), process="cron"
            )
            self.sent_message_id = message
        return {
            "type": "ir.actions.act_window",
            "res_model": "customer.message",
            "res_id": message.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_save_as_template(self):
        """Save the subject, body, SMS text, channel and document rules as a
        new template on customers, under the name given."""
        self.ensure_one()
        if not self.can_edit_templates:
            raise AccessError(self.env._("Only template editors may save templates."))
        if not self.template_name:
            raise UserError(self.env._("Give the new template a name first."))
        if not self.subject:
            raise UserError(self.env._("The template needs a subject."))
        template = self.env["mail.template"].create(
            {
                "name": self.template_name,
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "subject": self.subject,
                "body_html": self.body_html,
                "lang": "{{ object.lang }}",
                "customer_message_channel": self.channel,
                "customer_message_category_id": self.category_id.id,
                "customer_message_sms_body": self.sms_body,
                "customer_message_invoice_policy": self.invoice_policy,
                "customer_message_proforma_policy": self.proforma_policy,
                "customer_message_payment_policy": self.payment_policy,
            }
        )
        self.write({"template_id": template.id, "template_name": False})
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "message": self.env._("Template “%(name)s” saved.", name=template.name),
                "next": self._reopen(),
            },
        }
