from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

CHANNELS = [
    ("email", "Email"),
    ("portal", "Customer portal"),
    ("portal_email", "Customer portal & Email"),
    ("sms", "SMS"),
]
EMAIL_CHANNELS = ("email", "portal_email")
PORTAL_CHANNELS = ("portal", "portal_email")
# The fields rendered per customer, with their counterpart on the template (a
# field without one is always its author's own text).
RENDERED_FIELDS = {
    "subject": "subject",
    "body_html": "body_html",
    "sms_body": "customer_message_sms_body",
    "lang": "lang",
}


class CustomerMessage(models.Model):
    """One send to one or many customers: the History entry, with its
    counts, state and actions.

    How a message is sent: customer_message_sending.py (the send path, top
    to bottom); the documents it attaches: customer_message_documents.py;
    one line per customer: customer.message.recipient.
    """

    _name = "customer.message"
    _description = "Customer Message"
    _inherit = ["mail.render.mixin", "customer.message.document.mixin", "mail.thread"]
    _order = "date desc, id desc"
    _rec_name = "subject"
    _check_company_auto = True
    # Content is rendered by the cron, as the system, for every recipient, so
    # it is checked when written (as mass_mailing does for mailings): only
    # template editors may write expressions beyond the customer's plain
    # fields, field by field unless the field holds its template's own value
    # (see _has_unsafe_expression). Every rendering a user starts checks again
    # (see _render_for_partners): the preview renders records never written.
    _unrestricted_rendering = True

    subject = fields.Char(required=True)
    body_html = fields.Html(
        string="Message",
        render_engine="qweb",
        render_options={"post_process": True},
        sanitize="email_outgoing",
    )
    sms_body = fields.Text(string="SMS text")
    channel = fields.Selection(
        selection=CHANNELS, string="Send to", required=True, default="email"
    )
    template_id = fields.Many2one(
        "mail.template",
        domain=[("model", "=", "res.partner")],
        ondelete="set null",
        index="btree_not_null",
    )
    category_id = fields.Many2one(
        "customer.message.category",
        compute="_compute_category_id",
        store=True,
        readonly=False,
        index="btree_not_null",
        ondelete="restrict",
        help="What the message is about: customers who turned this category off "
        "on the channel are excluded. By default, its template's.",
    )
    author_id = fields.Many2one(
        "res.users", default=lambda self: self.env.user, index=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    date = fields.Datetime(
        default=fields.Datetime.now,
        required=True,
        index=True,
        help="When the message was confirmed.",
    )
    scheduled_date = fields.Datetime(help="Send at this time rather than at once.")
    scheduled_in_customer_tz = fields.Boolean(
        string="In each customer's time zone",
        help="Send at this time of day in each customer's own time zone (the "
        "company's, or the author's, for customers without one): customers "
        "further east get it first.",
    )
    due_date = fields.Datetime(
        compute="_compute_due_date",
        store=True,
        index="btree_not_null",
        copy=False,
        help="Technical: when the next recipients are due: the scheduled time, "
        "or the next customer's local time (see _get_next_due_date).",
    )
    done_date = fields.Datetime(string="Finished on", readonly=True)
    origin = fields.Selection(
        selection=[("manual", "Manual"), ("automated", "Automated"), ("test", "Test")],
        required=True,
        default="manual",
        index=True,
    )
    origin_ref = fields.Char(
        string="Sent by",
        help="The automation rule, server action or code that sent it.",
    )
    is_test = fields.Boolean(compute="_compute_is_test", store=True)
    test_email = fields.Char(
        help="Test messages go to this address instead of the customer's."
    )
    test_phone = fields.Char(
        help="Test SMS go to this number instead of the customer's."
    )
    recipient_filter = fields.Text(
        string="Recipients filter", help="The filter the recipients were picked by."
    )
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "customer_message_ir_attachment_rel",
        "message_id",
        "attachment_id",
        string="Attachments",
        help="Files sent to every recipient.",
    )
    # financial documents: picked ones (shown to those who may read them), or
    # a rule per type
    invoice_ids = fields.Many2many(
        "account.move",
        "customer_message_account_move_rel",
        "message_id",
        "move_id",
        string="Invoices and pro-formas",
        help="Documents picked for their customers: posted invoices are attached as "
        "invoices, draft invoices as pro-forma invoices.",
        groups="account.group_account_invoice,account.group_account_readonly",
    )
    payment_ids = fields.Many2many(
        "account.payment",
        "customer_message_account_payment_rel",
        "message_id",
        "payment_id",
        string="Payments",
        groups="account.group_account_invoice,account.group_account_readonly",
    )
    state = fields.Selection(
        selection=[
            ("to_approve", "Waiting for approval"),
            ("new", "New"),
            ("processing", "Processing"),
            ("sent", "Sent"),
            ("error", "Sent with error"),
            ("cancelled", "Cancelled"),
            ("removed", "Removed"),
        ],
        default="new",
        required=True,
        index=True,
        readonly=True,
    )
    recipient_ids = fields.One2many(
        "customer.message.recipient", "message_id", string="Recipients"
    )
    # the customers picked, while the processing cron makes their lines
    # (customer_message_sending.py, _create_recipients)
    pending_partner_list = fields.Json(
        string="Customers without their line yet",
        copy=False,
        groups="base.group_system",
        help="The ids of the customers picked for the message, in order, while their "
        "recipient lines are made batch by batch.",
    )
    pending_partner_done = fields.Integer(
        string="Customers with their line",
        copy=False,
        groups="base.group_system",
        help="How many customers of the list have their line.",
    )
    recipient_count = fields.Integer(
        string="Recipients count", compute="_compute_counts"
    )
    sent_count = fields.Integer(string="Sent", compute="_compute_counts")
    failed_count = fields.Integer(string="Failed", compute="_compute_counts")
    cancelled_count = fields.Integer(string="Cancelled", compute="_compute_counts")
    pending_count = fields.Integer(string="Pending", compute="_compute_counts")

    @api.depends("origin")
    def _compute_is_test(self):
        for message in self:
            message.is_test = message.origin == "test"

    @api.depends("template_id")
    def _compute_category_id(self):
        for message in self:
            message.category_id = (
                message.template_id.customer_message_category_id or message.category_id
            )

    def _compute_render_model(self):
        for message in self:
            message.render_model = "res.partner"

    @api.depends("recipient_ids.state")
    @api.depends("scheduled_date", "scheduled_in_customer_tz")
    def _compute_due_date(self):
        # a first value, made exact when the message is queued (_action_queue)
        for message in self:
            message.due_date = message.scheduled_date

    def _compute_counts(self):
        counts = defaultdict(lambda: defaultdict(int))
        ids = [message_id for message_id in self._ids if isinstance(message_id, int)]
        if ids:
            for message, state, count in self.env[
                "customer.message.recipient"
            ]._read_group(
                [("message_id", "in", ids)], ["message_id", "state"], ["__count"]
            ):
                counts[message.id][state] = count
            # sql: the customers whose lines are not made yet (see
            # _create_recipients), counted without reading the list
            self.flush_model(["pending_partner_list", "pending_partner_done"])
            for message_id, count in self.env.execute_query(
                SQL(
                    "SELECT id, jsonb_array_length(pending_partner_list) "
                    "- pending_partner_done FROM %s "
                    "WHERE id IN %s AND pending_partner_list IS NOT NULL",
                    SQL.identifier(self._table),
                    tuple(ids),
                )
            ):
                counts[message_id]["pending"] = count
        for message in self:
            by_state = counts[message.id]
            message.recipient_count = sum(by_state.values())
            message.sent_count = by_state["sent"]
            message.failed_count = by_state["error"]
            message.cancelled_count = by_state["cancelled"]
            message.pending_count = (
                by_state["new"] + by_state["processing"] + by_state["pending"]
            )

    @api.constrains("template_id")
    def _check_template_model(self):
        self.template_id._check_customer_message_template()

    def _has_unsafe_expression(self):
        """Whether a rendered field holds more than plain placeholders of the
        customer, checked field by field: a field holding its template's own
        value was written by a template editor; any other field (the SMS
        text, the language...) is its author's. Other fields (the filter
        description...) are never rendered, so never checked."""
        for message in self.sudo():  # sudo: only the content is inspected
            for fname in RENDERED_FIELDS:
                value = message[fname]
                if not value or message._holds_template_value(fname):
                    continue
                engine = getattr(message._fields[fname], "render_engine", None)
                if engine == "qweb":
                    unsafe = self._has_unsafe_expression_template_qweb(
                        value, "res.partner", fname
                    )
                else:
                    unsafe = self._has_unsafe_expression_template_inline_template(
                        value, "res.partner", fname
                    )
                if unsafe:
                    return True
        return False

    def _holds_template_value(self, fname):
        """Whether the rendered field holds its template's value unchanged."""
        self.ensure_one()
        template_fname = RENDERED_FIELDS[fname]
        return bool(
            self.template_id
            and template_fname
            and self[fname] == self.template_id[template_fname]
        )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_not_removed(self):
        if not self.env.is_superuser() and any(
            message.state != "removed" for message in self
        ):
            raise UserError(
                self.env._(
                    "Messages are kept for the history: "
                    "use Delete to mark them as removed first."
                )
            )

    # ------------------------------------------------------------------
    # HOOKS (defined here, before every file that implements them)
    # ------------------------------------------------------------------

    def _hook_message_created(self):
        """Extension point: this message was just recorded by
        ``_create_message`` (customer_message_keys.py, the gate every
        message is made through) and checked as the user, in the savepoint
        of its creation (the template's version it is sent with:
        customer_message_audit.py)."""

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    # The history is written by the system only: users act on the messages
    # they may read (those of their companies), which are then changed as the
    # system (the access lists give users no write on messages and lines).

    def action_cancel(self):
        """Stop messages that are not done: unsent recipients are cancelled
        with their queued emails and SMS."""
        self.check_access("read")
        messages = self.sudo().filtered(
            lambda m: m.state in ("to_approve", "new", "processing")
        )
        if not messages:
            raise UserError(
                self.env._(
                    "Only messages that are still New or Processing can be cancelled."
                )
            )
        messages._cancel(self.env._("Cancelled by %(user)s", user=self.env.user.name))
        return True

    def _cancel(self, reason):
        """Cancel the messages' unsent recipients, with the reason."""
        # the customers whose lines were not made yet get cancelled lines
        self._create_pending_recipients(cancel_reason=reason)
        pending = self.env["customer.message.recipient"].search(
            [
                ("message_id", "in", self.ids),
                ("state", "in", ("new", "processing")),
            ]
        )
        pending._action_cancel(reason)
        self.write({"state": "cancelled", "done_date": fields.Datetime.now()})
        # the counts follow the lines (computed without dependencies)
        self.invalidate_recordset(
            [
                "recipient_count",
                "sent_count",
                "failed_count",
                "cancelled_count",
                "pending_count",
            ]
        )

    def action_retry_failed(self):
        """Send again to the recipients whose delivery failed, and to them only."""
        self.check_access("read")
        # lines without their customer (erased, deleted) go to nobody
        failed = self.sudo().recipient_ids.filtered(
            lambda r: r.state == "error" and r.partner_id
        )
        if not failed:
            raise UserError(self.env._("No recipient of these messages has failed."))
        failed._reset_for_retry()
        failed.message_id.write({"state": "processing", "done_date": False})
        failed.message_id._action_queue()
        return True

    def action_remove(self):
        """Delete for staff: hidden from lists and from the portal, kept for audit."""
        self.check_access("read")
        messages = self.sudo()
        pending = messages.filtered(lambda m: m.state in ("new", "processing"))
        if pending:
            pending.action_cancel()
        messages.write({"state": "removed"})
        messages.recipient_ids.write({"state": "removed"})
        return True

    def action_view_recipients(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.customer_message_recipient_action"
        )
        action["domain"] = [("message_id", "=", self.id)]
        action["context"] = {"search_default_group_state": 0}
        return action
