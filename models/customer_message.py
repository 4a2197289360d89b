import threading
from collections import defaultdict

from odoo import api, fields, models, modules
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import email_normalize

CHANNELS = [
    ("email", "Email"),
    ("portal", "Customer portal"),
    ("portal_email", "Customer portal & Email"),
    ("sms", "SMS"),
]
EMAIL_CHANNELS = ("email", "portal_email")
PORTAL_CHANNELS = ("portal", "portal_email")
# Messages with at most this many recipients are processed at once, in the
# request that confirms them; larger ones are processed by the cron in batches.
IMMEDIATE_LIMIT = 50
# The fields rendered per customer, with their counterpart on the template (a
# field without one is always its author's own text).
RENDERED_FIELDS = {
    "subject": "subject",
    "body_html": "body_html",
    "sms_body": None,
    "lang": "lang",
}


class CustomerMessage(models.Model):
    """One send to one or many customers: the History entry.

    All sending goes through ``_send_to_customers`` (the composer, server
    actions, automation rules and integrators' code) and ends in
    ``_process``: recipients are resolved and excluded once, at creation; the
    content, the customers' documents and the queue records are made per batch
    of recipients, by the cron for large sends.
    """

    _name = "customer.message"
    _description = "Customer Message"
    _inherit = ["mail.render.mixin", "customer.message.document.mixin"]
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
    server_action_id = fields.Many2one(
        "ir.actions.server",
        string="Server action",
        ondelete="set null",
        index="btree_not_null",
    )
    is_test = fields.Boolean(compute="_compute_is_test", store=True)
    test_email = fields.Char(
        help="Test messages go to this address instead of the customer's."
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

    def _compute_render_model(self):
        for message in self:
            message.render_model = "res.partner"

    @api.depends("recipient_ids.state")
    def _compute_counts(self):
        counts = defaultdict(lambda: defaultdict(int))
        if self.ids:
            for message, state, count in self.env[
                "customer.message.recipient"
            ]._read_group(
                [("message_id", "in", self.ids)], ["message_id", "state"], ["__count"]
            ):
                counts[message.id][state] = count
        for message in self:
            by_state = counts[message.id]
            message.recipient_count = sum(by_state.values())
            message.sent_count = by_state["sent"]
            message.failed_count = by_state["error"]
            message.cancelled_count = by_state["cancelled"]
            message.pending_count = by_state["new"] + by_state["processing"]

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
    # ACTIONS
    # ------------------------------------------------------------------

    # The history is written by the system only: users act on the messages
    # they may read (those of their companies), which are then changed as the
    # system (the access lists give users no write on messages and lines).

    def action_cancel(self):
        """Stop messages that are not done: unsent recipients are cancelled
        with their queued emails and SMS."""
        self.check_access("read")
        messages = self.sudo().filtered(lambda m: m.state in ("new", "processing"))
        if not messages:
            raise UserError(
                self.env._(
                    "Only messages that are still New or Processing can be cancelled."
                )
            )
        pending = messages.recipient_ids.filtered(
            lambda r: r.state in ("new", "processing")
        )
        pending._action_cancel(
            self.env._("Cancelled by %(user)s", user=self.env.user.name)
        )
        messages.write({"state": "cancelled", "done_date": fields.Datetime.now()})
        return True

    def action_retry_failed(self):
        """Send again to the recipients whose delivery failed, and to them only."""
        self.check_access("read")
        failed = self.sudo().recipient_ids.filtered(lambda r: r.state == "error")
        if not failed:
            raise UserError(self.env._("No recipient of these messages has failed."))
        failed.write(
            {
                "state": "new",
                "failure_reason": False,
                "mail_mail_id": False,
                "sms_id": False,
            }
        )
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

    # ------------------------------------------------------------------
    # CREATION API: the one way to send
    # ------------------------------------------------------------------

    @api.model
    def _send_to_customers(self, records, values, immediate=None):
        """Create a message for the customers of ``records`` and queue it.

        :param records: res.partner records, or any records that lead to a
            customer through ``_get_customer_messages_partner`` (invoices and
            payments: those very documents are attached as PDFs);
        :param dict values: values of the customer.message (subject, body_html
            or template_id, channel, attachment_ids, policies, origin...);
        :param immediate: process now (True), by the cron (False) or now only
            when small (None);
        :return: the created customer.message
        """
        values = dict(values)
        partners = self._get_customers_of(records)
        if records._name == "account.move":
            values.setdefault("invoice_ids", [fields.Command.set(records.ids)])
        elif records._name == "account.payment":
            values.setdefault("payment_ids", [fields.Command.set(records.ids)])
        template = self.env["mail.template"].browse(values.get("template_id"))
        if template and not values.get("subject"):
            values["subject"] = template.subject
            values.setdefault("body_html", template.body_html)
            values.setdefault("lang", template.lang)
        if not values.get("subject"):
            raise UserError(self.env._("A message needs a subject."))
        if not partners:
            raise UserError(self.env._("There is no customer to send this message to."))
        documents = {
            fname: values.pop(fname)
            for fname in ("invoice_ids", "payment_ids")
            if values.get(fname)
        }
        self._check_picked_documents(documents)
        message = self.create(values)
        # sudo: the documents were checked above; lines are the system's
        message_sudo = message.sudo()
        if documents:
            message_sudo.write(documents)
        message_sudo._create_recipients(partners)
        message_sudo._action_queue(immediate=immediate)
        return message

    @api.model
    def _check_picked_documents(self, documents):
        """Users send the documents they may read, and no others (the
        documents picked by a rule are each customer's own, see
        _get_documents).

        :param dict documents: {"invoice_ids" | "payment_ids": commands}
        """
        # sudo: reads the records the commands name, then checked as the user
        picked = self.sudo().new(documents)
        for fname in documents:
            records = picked[fname].with_env(self.env)
            if records and not records.has_access("read"):
                raise UserError(
                    self.env._(
                        "You may not send %(documents)s: only users who may read "
                        "them can attach them. Attach each customer's documents "
                        "by a rule instead (Invoices, Payment receipts...).",
                        documents=self._fields[fname].get_description(self.env)[
                            "string"
                        ],
                    )
                )

    @api.model
    def _send_automated(self, action, records):
        """Send for a server action (automation rule, scheduled action): once
        per customer and trigger, even if the rule fires again for the same
        records (or the same day, for a scheduled action)."""
        by_customer = defaultdict(list)
        for record in records:
            by_customer[self._get_customers_of(record).id].append(record.id)
        suffix = (
            f":{fields.Date.context_today(self)}" if action.usage == "ir_cron" else ""
        )
        keys = {
            partner_id: f"{action.id}:{records._name}:{','.join(map(str, sorted(ids)))}"
            + suffix
            for partner_id, ids in by_customer.items()
        }
        done = set(
            self.env["customer.message.recipient"]
            .search([("trigger_key", "in", list(keys.values()))])
            .mapped("trigger_key")
        )
        todo = records.browse(
            [
                record_id
                for partner_id, ids in by_customer.items()
                if keys[partner_id] not in done
                for record_id in ids
            ]
        )
        if not todo:
            return self.browse()
        template = action.customer_message_template_id
        values = {
            "template_id": template.id,
            "channel": action.customer_message_channel or "email",
            "invoice_policy": action.customer_message_invoice_policy or "none",
            "proforma_policy": action.customer_message_proforma_policy or "none",
            "payment_policy": action.customer_message_payment_policy or "none",
            "origin": "automated",
            "origin_ref": action.base_automation_id.name or action.name,
            "server_action_id": action.id,
            "recipient_filter": self.env._(
                "%(count)s %(model)s record(s) of %(action)s",
                count=len(todo),
                model=self.env["ir.model"]._get(records._name).name,
                action=action.base_automation_id.name or action.name,
            ),
        }
        return self.with_context(
            customer_messages_trigger_keys=keys
        )._send_to_customers(todo, values)

    @api.model
    def _get_customers_of(self, records):
        if records._name == "res.partner":
            return records
        if records._name in ("account.move", "account.payment"):
            return records.partner_id
        field = self.env.context.get("customer_messages_partner_field") or "partner_id"
        if (
            field not in records._fields
            or records._fields[field].comodel_name != "res.partner"
        ):
            raise UserError(
                self.env._(
                    "%(model)s records have no customer field %(field)s "
                    "to send messages to.",
                    model=records._description,
                    field=field,
                )
            )
        return records[field]

    def _create_recipients(self, partners):
        """One line per customer; the excluded ones are recorded as cancelled
        with the reason, never dropped silently."""
        self.ensure_one()
        reasons = self._get_exclusion_reasons(partners)
        trigger_keys = self.env.context.get("customer_messages_trigger_keys") or {}
        now = fields.Datetime.now()
        vals_list = []
        for partner in partners:
            reason = reasons.get(partner.id)
            vals_list.append(
                {
                    "message_id": self.id,
                    "partner_id": partner.id,
                    "email": self.test_email or partner.email,
                    "phone": partner.phone,
                    "state": "cancelled" if reason else "new",
                    "failure_reason": reason
                    and self.env._("Excluded: %(reason)s", reason=reason),
                    "done_date": reason and now,
                    "trigger_key": trigger_keys.get(partner.id),
                }
            )
        return self.env["customer.message.recipient"].create(vals_list)

    @api.model
    def _get_exclusion_reasons(self, partners, channel=None):
        """{partner id: why it cannot receive on the channel} for the partners
        that cannot, in a few queries for all of them."""
        channel = channel or self.channel
        reasons = {}
        if self and self.test_email:
            if not email_normalize(self.test_email):
                raise UserError(
                    self.env._(
                        "The test address %(email)s is not valid.",
                        email=self.test_email,
                    )
                )
            return reasons
        if channel in EMAIL_CHANNELS:
            normalized = {
                partner.id: email_normalize(partner.email or "") for partner in partners
            }
            blacklisted = set(
                self.env["mail.blacklist"]
                .sudo()  # sudo: only the addresses are compared, to exclude them
                .search(
                    [("email", "in", [email for email in normalized.values() if email])]
                )
                .mapped("email")
            )
            for partner in partners:
                if not partner.email:
                    reasons[partner.id] = self.env._("no email address")
                elif not normalized[partner.id]:
                    reasons[partner.id] = self.env._(
                        "invalid email address %(email)s", email=partner.email
                    )
                elif normalized[partner.id] in blacklisted:
                    reasons[partner.id] = self.env._("email address blacklisted")
        elif channel == "sms":
            for partner in partners:
                if not partner.phone:
                    reasons[partner.id] = self.env._("no phone number")
                elif not partner._phone_format(
                    number=partner.phone,
                    country=partner.country_id,
                    force_format="E164",
                ):
                    reasons[partner.id] = self.env._(
                        "phone number %(phone)s not usable for SMS", phone=partner.phone
                    )
        elif channel == "portal":
            with_access = self._get_partners_with_portal_access(partners)
            for partner in partners - with_access:
                reasons[partner.id] = self.env._("no customer portal access")
        return reasons

    @api.model
    def _get_partners_with_portal_access(self, partners):
        """The partners whose company (commercial partner) has a portal user."""
        users = (
            self.env["res.users"]
            .sudo()  # sudo: portal users are only counted, per customer
            .search(
                [
                    ("share", "=", True),
                    (
                        "partner_id.commercial_partner_id",
                        "in",
                        partners.commercial_partner_id.ids,
                    ),
                ]
            )
        )
        commercial = users.partner_id.commercial_partner_id
        return partners.filtered(
            lambda partner: partner.commercial_partner_id in commercial
        )

    # ------------------------------------------------------------------
    # PROCESSING
    # ------------------------------------------------------------------

    def _action_queue(self, immediate=None):
        """Process small messages now; hand the others to the cron."""
        to_cron = self.env["customer.message"]
        for message in self:
            pending = message.pending_count
            due = (
                not message.scheduled_date
                or message.scheduled_date <= fields.Datetime.now()
            )
            if due and (
                immediate or (immediate is None and pending <= IMMEDIATE_LIMIT)
            ):
                message._process()
            else:
                to_cron |= message
        if to_cron:
            cron = self.env.ref("customer_messages.ir_cron_customer_message_process")
            for scheduled in set(to_cron.mapped("scheduled_date")):
                cron._trigger(at=scheduled or None)
        return True

    @api.model
    def _get_batch_size(self):
        return int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_messages.batch_size", 500)
        )

    @api.model
    def _auto_commit(self):
        """Commit per batch, except in tests, which roll back."""
        return not modules.module.current_test and not getattr(
            threading.current_thread(), "testing", False
        )

    def _process(self, limit=None):
        """Deliver to the new recipients of the messages, batch by batch.

        Each batch is locked (another worker skips it), rendered and queued,
        then its emails are sent; emails left queued are sent by
        :meth:`_send_queued_emails`, which other workers run as well.

        :param limit: stop after about this many recipients (cron time box)
        :return: the number of recipients processed
        """
        done = 0
        batch_size = self._get_batch_size()
        auto_commit = self._auto_commit()
        Recipient = self.env["customer.message.recipient"]
        for message in self:
            if message.state in ("cancelled", "removed", "sent", "error"):
                continue
            if message.state == "new":
                message.state = "processing"
            last_id = 0
            while limit is None or done < limit:
                batch = Recipient._lock_new(message, last_id, batch_size)
                if not batch:
                    break
                last_id = batch[-1].id
                batch._deliver(hand_over=len(batch) == batch_size)
                done += len(batch)
                if auto_commit:
                    remaining = Recipient.search_count(
                        [
                            ("message_id", "in", self.ids),
                            ("state", "in", ("new", "processing")),
                        ]
                    )
                    self.env["ir.cron"]._commit_progress(
                        len(batch), remaining=remaining
                    )
            message._update_state()
        return done

    @api.model
    def _send_queued_emails(self):
        """Send the queued emails of customer messages until none is left,
        chunk by chunk: several workers may run it at once, each chunk is
        claimed by one of them. Emails tried in this run and queued again
        (the server ended the session...) wait for the next one.

        :return: the messages whose emails were sent
        """
        MailMail = self.env["mail.mail"].sudo()  # sudo: queue records
        now = fields.Datetime.now()
        domain = (
            Domain("customer_message_recipient_id", "!=", False)
            & Domain("state", "=", "outgoing")
            & (
                Domain("scheduled_date", "=", False)
                | Domain("scheduled_date", "<=", now)
            )
        )
        messages = self.browse()
        last_id = 0
        while True:
            mails = MailMail.search(
                domain & Domain("id", ">", last_id),
                order="id",
                limit=self._get_batch_size(),
            )
            if not mails:
                break
            last_id = mails[-1].id
            messages |= mails.customer_message_recipient_id.message_id
            mails._send_customer_messages(auto_commit=self._auto_commit())
        return messages

    @api.model
    def _cron_send_emails(self):
        """A sending worker beside the processing cron (see _process)."""
        self._send_queued_emails()._update_state()

    def _update_state(self):
        """Done when no recipient is pending: Sent, or Sent with error."""
        for message in self:
            if message.state not in ("new", "processing"):
                continue
            message.invalidate_recordset(["pending_count", "failed_count"])
            if message.pending_count:
                continue
            message.write(
                {
                    "state": "error" if message.failed_count else "sent",
                    "done_date": fields.Datetime.now(),
                }
            )

    def _update_done_state(self):
        """Lines of finished messages changed after the fact (a bounce, an
        SMS delivery report): Sent with error while a line has failed, else
        Sent."""
        for message in self.filtered(lambda m: m.state in ("sent", "error")):
            message.invalidate_recordset(["failed_count"])
            state = "error" if message.failed_count else "sent"
            if message.state != state:
                message.state = state

    @api.model
    def _cron_process(self):
        """Process the due messages, batch by batch, committing progress."""
        messages = self.search(
            Domain("state", "in", ("new", "processing"))
            & (
                Domain("scheduled_date", "=", False)
                | Domain("scheduled_date", "<=", fields.Datetime.now())
            ),
            order="id",
        )
        for message in messages:
            message._process()
        # emails queued and not sent yet (a crash, a closed SMTP session...)
        sent = self._send_queued_emails()
        # SMS left queued the same way
        stalled_sms = self.env["customer.message.recipient"].search(
            [("state", "=", "processing"), ("sms_id.state", "=", "outgoing")],
            limit=self._get_batch_size(),
        )
        stalled_sms._send_sms()
        # emails whose worker died while sending them: not sent again
        stale = self.env["mail.mail"].sudo()._settle_stale_claims()
        (
            sent
            | stalled_sms.message_id
            | stale.customer_message_recipient_id.message_id
        )._update_state()

    # ------------------------------------------------------------------
    # CONTENT AND DOCUMENTS
    # ------------------------------------------------------------------

    def _render_for_partners(self, partners):
        """{partner id: {"subject", "body_html", "sms_body"}} rendered per
        customer in the customer's language with Odoo's template engine.

        A field holding its template's own value is rendered from the
        template (with its translations); the others from the message. What
        a user renders is checked first as they may not have written it (the
        preview renders content never saved); the system renders content
        checked when it was written.
        """
        self.ensure_one()
        self._check_access_right_dynamic_template()
        self.template_id._check_customer_message_template()
        res_ids = partners.ids
        rendered = {partner_id: {} for partner_id in res_ids}
        # the engine reads each customer's language record by record
        partners.fetch(["lang"])
        langs = self._render_lang(res_ids)
        for fname in ("subject", "body_html", "sms_body"):
            source, source_fname = self, fname
            if self._holds_template_value(fname):
                source, source_fname = self.template_id, RENDERED_FIELDS[fname]
            if source[source_fname]:
                values = source._render_field(source_fname, res_ids, res_ids_lang=langs)
            else:
                values = dict.fromkeys(res_ids, "")
            for partner_id in res_ids:
                rendered[partner_id][fname] = values[partner_id]
        return rendered

    def _get_documents(self, partners):
        """{partner: (posted invoices, draft invoices, payments)} the documents
        this message sends to each customer, in one query per type."""
        self.ensure_one()
        # sudo: each customer gets its own documents, picked by the rules of
        # the message; staff sending them need not read the accounting.
        Move = self.env["account.move"].sudo()
        Payment = self.env["account.payment"].sudo()
        by_commercial = defaultdict(lambda: self.env["res.partner"])
        for partner in partners:
            by_commercial[partner.commercial_partner_id.id] |= partner
        commercial_ids = list(by_commercial)
        documents = {partner: [Move, Move, Payment] for partner in partners}

        def assign(records, index):
            for record in records:
                for partner in by_commercial.get(
                    record.partner_id.commercial_partner_id.id, ()
                ):
                    documents[partner][index] |= record

        # picked documents
        picked = self.sudo().invoice_ids.filtered(
            lambda move: move.partner_id.commercial_partner_id.id in by_commercial
        )
        assign(picked.filtered(lambda move: move.state == "posted"), 0)
        assign(picked.filtered(lambda move: move.state == "draft"), 1)
        assign(
            self.sudo().payment_ids.filtered(
                lambda p: p.partner_id.commercial_partner_id.id in by_commercial
            ),
            2,
        )

        # documents by rule
        base = Domain("commercial_partner_id", "in", commercial_ids) & Domain(
            "company_id", "=", self.company_id.id
        )
        invoices = Domain("move_type", "=", "out_invoice")
        for policy, state, index in (
            (self.invoice_policy, "posted", 0),
            (self.proforma_policy, "draft", 1),
        ):
            if policy == "none":
                continue
            domain = base & invoices & Domain("state", "=", state)
            if policy == "unpaid" and state == "posted":
                domain &= Domain("payment_state", "in", ("not_paid", "partial"))
            domain &= self._get_date_domain(
                policy, "invoice_date" if state == "posted" else "date"
            )
            moves = Move.search(domain, order="invoice_date desc, date desc, id desc")
            assign(self._keep_last(moves, policy), index)
        if self.payment_policy != "none":
            domain = (
                Domain("partner_id.commercial_partner_id", "in", commercial_ids)
                & Domain("company_id", "=", self.company_id.id)
                & Domain("payment_type", "=", "inbound")
                & Domain("state", "in", ("in_process", "paid"))
                & self._get_date_domain(self.payment_policy, "date")
            )
            payments = Payment.search(domain, order="date desc, id desc")
            assign(self._keep_last(payments, self.payment_policy), 2)
        return documents

    def _get_date_domain(self, policy, fname):
        if policy != "range":
            return Domain.TRUE
        domain = Domain.TRUE
        if self.document_date_from:
            domain &= Domain(fname, ">=", self.document_date_from)
        if self.document_date_to:
            domain &= Domain(fname, "<=", self.document_date_to)
        return domain

    @api.model
    def _keep_last(self, records, policy):
        """With the "last one" rule, the newest record of each customer (the
        records come newest first)."""
        if policy != "last":
            return records
        seen = set()
        kept = records.browse()
        for record in records:
            key = record.partner_id.commercial_partner_id.id
            if key not in seen:
                seen.add(key)
                kept |= record
        return kept

    def _get_document_attachments(self, documents):
        """{partner: ir.attachment} the PDFs of each customer's documents.

        Each document is rendered once, one per wkhtmltopdf call: posted
        invoices keep their PDF as Odoo does when it sends them, payment
        receipts are kept on the payment; pro-formas are rendered for this
        message.
        """
        posted = drafts = self.env["account.move"]
        payments = self.env["account.payment"]
        for partner_posted, partner_drafts, partner_payments in documents.values():
            posted |= partner_posted
            drafts |= partner_drafts
            payments |= partner_payments
        pdfs = {
            **self._get_invoice_pdfs(posted),
            **self._get_proforma_pdfs(drafts),
            **self._get_payment_pdfs(payments),
        }
        return {
            partner: self.env["ir.attachment"].union(
                *(pdfs[record] for records in partner_documents for record in records)
            )
            for partner, partner_documents in documents.items()
        }

    @api.model
    def _render_pdf(self, report_ref, record):
        report = self.env["ir.actions.report"].with_context(force_report_rendering=True)
        content, _report_type = report._render_qweb_pdf(report_ref, res_ids=record.ids)
        return content

    @api.model
    def _get_invoice_pdfs(self, invoices):
        """{invoice: its PDF}, rendered and kept on the invoice when missing."""
        # sudo: the PDF is the invoice's legal document, stored the way Odoo
        # stores it when sending the invoice; readers are checked on the
        # message and its recipients, not on the attachment.
        invoices_sudo = invoices.sudo()
        missing = invoices_sudo.filtered(
            lambda invoice: not invoice.invoice_pdf_report_id
        )
        if missing:
            report = self.env.ref("account.account_invoices")
            self.env["ir.attachment"].sudo().create(
                [
                    {
                        "name": invoice._get_invoice_report_filename(report=report),
                        "raw": self._render_pdf("account.account_invoices", invoice),
                        "mimetype": "application/pdf",
                        "res_model": "account.move",
                        "res_id": invoice.id,
                        "res_field": "invoice_pdf_report_file",
                    }
                    for invoice in missing
                ]
            )
            missing.invalidate_recordset(
                ["invoice_pdf_report_id", "invoice_pdf_report_file"]
            )
        return {
            invoice: invoice_sudo.invoice_pdf_report_id
            for invoice, invoice_sudo in zip(invoices, invoices_sudo, strict=True)
        }

    @api.model
    def _get_payment_pdfs(self, payments):
        """{payment: its receipt PDF}, rendered and kept on the payment when
        missing (found again by the description marker)."""
        if not payments:
            return {}
        # sudo: receipts are kept on their payment, served with the message
        Attachment = self.env["ir.attachment"].sudo()
        kept = {
            attachment.res_id: attachment
            for attachment in Attachment.search(
                [
                    ("res_model", "=", "account.payment"),
                    ("res_id", "in", payments.ids),
                    ("description", "=", "customer_messages_receipt"),
                ]
            )
        }
        missing = payments.filtered(lambda payment: payment.id not in kept)
        if missing:
            created = Attachment.create(
                [
                    {
                        "name": self.env._(
                            "Payment Receipt - %(name)s.pdf",
                            name=payment.name.replace("/", "_"),
                        ),
                        "raw": self._render_pdf(
                            "account.action_report_payment_receipt", payment.sudo()
                        ),
                        "mimetype": "application/pdf",
                        "res_model": "account.payment",
                        "res_id": payment.id,
                        "description": "customer_messages_receipt",
                    }
                    for payment in missing
                ]
            )
            kept.update({attachment.res_id: attachment for attachment in created})
        return {payment: kept[payment.id] for payment in payments}

    def _get_proforma_pdfs(self, drafts):
        """{draft invoice: its pro-forma PDF}, rendered for this message."""
        # sudo: generated for this message, served with it
        created = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                [
                    {
                        "name": self.env._(
                            "Pro-forma invoice %(number)s.pdf",
                            number=draft.name
                            if draft.name and draft.name != "/"
                            else draft.id,
                        ),
                        "raw": self._render_pdf(
                            "customer_messages.action_report_proforma_invoice",
                            draft.sudo(),
                        ),
                        "mimetype": "application/pdf",
                        "res_model": "customer.message",
                        "res_id": self.id,
                    }
                    for draft in drafts
                ]
            )
        )
        return dict(zip(drafts, created, strict=True))

    def _get_email_from(self):
        self.ensure_one()
        return (
            self.author_id.email_formatted
            or self.company_id.email_formatted
            or self.env.user.email_formatted
        )
