import logging
import threading

from odoo import api, fields, models, modules
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL, Query, email_normalize, split_every

from odoo.addons.sms.tools.sms_api import SmsApi

from ..tools.placeholders import placeholders_to_qweb
from .customer_message import EMAIL_CHANNELS, PORTAL_CHANNELS, RENDERED_FIELDS
from .customer_message_category import MESSAGE_PREFERENCE_CHANNELS

_logger = logging.getLogger(__name__)

# Messages with at most this many recipients are processed at once, in the
# request that confirms them; larger ones are processed by the cron in batches.
IMMEDIATE_LIMIT = 50


class CustomerMessage(models.Model):
    """The send path, in the order a message goes through it:

    1. entry: ``_send_to_customers`` records the message (the composer,
       server actions and integrators' code all call it);
    2. recipients: one line per customer, the excluded ones with the reason;
    3. queue: small messages are processed at once, others by the cron;
    4. batches: ``_process`` locks the new lines batch by batch; each batch is
       rendered, gets its documents, is published in the portal and gets its
       queue records (mail.mail, sms.sms), then is sent;
    5. crons: ``_cron_process`` and ``_cron_send_emails``.

    Data goes down (message, batch, lines, queue records); outcomes come up
    from the queues to the lines (customer.message.recipient
    ``_set_delivery_result``) and from the lines to the message
    (``_update_state``).
    """

    _inherit = "customer.message"

    # ------------------------------------------------------------------
    # 1. ENTRY
    # ------------------------------------------------------------------

    @api.model
    def _send_to_customers(
        self, records, values, process="auto", key=None, key_origin=None
    ):
        """Create a message for the customers of ``records`` and queue it.

        :param records: res.partner records, or any records that lead to a
            customer (see ``_get_customers_of``; invoices and payments: those
            very documents are attached as PDFs);
        :param dict values: values of the customer.message (subject, body_html
            or template_id, channel, attachment_ids, policies, origin...);
        :param str process: when the message is processed: "auto" in this
            transaction when it has at most IMMEDIATE_LIMIT recipients, else
            by the cron; "now" in this transaction whatever its size (a test
            send); "cron" by the cron
        :param str key: an idempotency key: when a message was sent with
            the same key in the last 24 hours, that message is returned and
            nothing is sent again (code or a rule that may run twice)
        :param key_origin: the record that sends with the key, whose own it
            is (an incident...; see customer_message_keys.py)
        :return: the created customer.message
        """
        company = self.env["res.company"].browse(values.get("company_id"))
        if key and (first := self._get_message_by_key(key, company, key_origin)):
            return first
        values = dict(values)
        if values.get("body_html"):
            # the {{ placeholders }} typed in the text work in the body too
            values["body_html"] = placeholders_to_qweb(values["body_html"])
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
        message = self._create_message(values, key=key, key_origin=key_origin)
        # sudo: the documents were checked above; the history (lines, state)
        # is the system's, see customer_message.py
        message_sudo = message.sudo()
        # the files uploaded in the composer belong to the message now (not
        # to a test of it): the composer's daily cleanup deletes what still
        # belongs to it
        message_sudo.filtered(lambda m: m.origin != "test").attachment_ids.filtered(
            lambda attachment: attachment.res_model
            in (False, "customer.message.composer")
        ).write({"res_model": message._name, "res_id": message.id})
        if documents:
            message_sudo.write(documents)
        message_sudo._create_recipients(partners)
        if message_sudo._needs_approval():
            message_sudo._request_approval()
        else:
            message_sudo._action_queue(process=process)
        return message

    @api.model
    def _get_customers_of(self, records):
        """The customers of the records: the partners themselves, the
        customer of invoices and payments, or the partner field named by
        the context key customer_messages_partner_field (partner_id)."""
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

    # ------------------------------------------------------------------
    # 2. RECIPIENTS
    # ------------------------------------------------------------------

    def _create_recipients(self, partners):
        """One line per customer; the excluded ones are recorded as cancelled
        with the reason, never dropped silently.

        The lines are made in SQL, batch by batch (``_insert_recipients``):
        here when the customers fit in one batch, or when an automation sends
        the message (its trigger keys must be on the lines before it runs
        again); else the list of customers is kept on the message and the
        processing cron makes their lines (``_create_pending_recipients``),
        committing each batch.
        """
        self.ensure_one()
        size = self._get_creation_batch_size()
        if len(partners) > size and not self.env.context.get(
            "customer_messages_trigger_keys"
        ):
            self.write(
                {"pending_partner_list": partners.ids, "pending_partner_done": 0}
            )
            self.flush_recordset()
            self.invalidate_recordset()
            return
        for ids in split_every(size, partners.ids):
            self._insert_recipients(partners.browse(ids))
        self.invalidate_recordset()

    def _create_pending_recipients(self, commit=False, limit=None, cancel_reason=None):
        """Make the lines of the customers kept on the messages, batch by
        batch in their order. A batch inserts its lines and moves the
        message's position in the list, in one transaction: with ``commit``,
        each batch is committed, a crash loses the batch under way only and
        the next run resumes from the position; a customer never gets two
        lines of a message (``_message_partner_uniq``, left alone by the
        insert).

        :param int limit: stop after about this many lines
        :param str cancel_reason: make the lines cancelled, with this reason
            (the message was cancelled before they were made)
        :return: the number of lines made
        """
        made = 0
        size = self._get_creation_batch_size()
        table = SQL.identifier(self._table)
        for message in self:
            while limit is None or made < limit:
                message.flush_recordset(
                    ["pending_partner_list", "pending_partner_done"]
                )
                # sql: the position in the list, without reading the list;
                # the message locked: one worker at a time makes its lines
                # (another waits for this batch)
                rows = self.env.execute_query(
                    SQL(
                        "SELECT pending_partner_done, "
                        "jsonb_array_length(pending_partner_list) FROM %s "
                        "WHERE id = %s AND pending_partner_list IS NOT NULL "
                        "FOR NO KEY UPDATE",
                        table,
                        message.id,
                    )
                )
                if not rows:
                    break
                done, total = rows[0]
                partner_ids = []
                if done < total:
                    # sql: the next batch of the list only (a JSON path slice)
                    rows = self.env.execute_query(
                        SQL(
                            "SELECT customer.id::int FROM %s, "
                            "jsonb_path_query(pending_partner_list, %s::jsonpath) "
                            "WITH ORDINALITY AS customer(id, position) "
                            "WHERE %s.id = %s ORDER BY position",
                            table,
                            f"$[{done} to {min(done + size, total) - 1}]",
                            table,
                            message.id,
                        )
                    )
                    partner_ids = [partner_id for (partner_id,) in rows]
                    message._insert_recipients(
                        self.env["res.partner"].browse(partner_ids), cancel_reason
                    )
                done += len(partner_ids)
                if done >= total:
                    message.write(
                        {"pending_partner_list": False, "pending_partner_done": 0}
                    )
                else:
                    message.pending_partner_done = done
                message.invalidate_recordset()
                made += len(partner_ids)
                if commit:
                    self.env["ir.cron"]._commit_progress(len(partner_ids))
        return made

    @api.model
    def _forget_pending_partners(self, partners):
        """Take customers out of the lists of the messages whose lines are
        still being made (their personal data is erased): they get no line
        later. The lines made already are left to the caller."""
        if not partners:
            return
        self.flush_model(["pending_partner_list", "pending_partner_done"])
        # sql: the lists hold up to 100,000 ids, filtered without reading
        # them; the customers before the position are counted out of it
        rows = self.env.execute_query(
            SQL(
                """UPDATE %(table)s AS message
                      SET pending_partner_list = kept.list,
                          pending_partner_done = CASE WHEN kept.list IS NULL THEN 0
                              ELSE message.pending_partner_done - kept.dropped_done END
                     FROM (SELECT listed.id,
                                  jsonb_agg(customer.id ORDER BY customer.position)
                                      FILTER (WHERE NOT customer.id::int = ANY(%(ids)s))
                                      AS list,
                                  count(*) FILTER (
                                      WHERE customer.id::int = ANY(%(ids)s)
                                        AND customer.position
                                            <= listed.pending_partner_done)
                                      AS dropped_done
                             FROM %(table)s AS listed,
                                  jsonb_array_elements(listed.pending_partner_list)
                                  WITH ORDINALITY AS customer(id, position)
                            WHERE listed.pending_partner_list IS NOT NULL
                         GROUP BY listed.id
                           HAVING bool_or(customer.id::int = ANY(%(ids)s))) AS kept
                    WHERE message.id = kept.id
                RETURNING message.id""",
                table=SQL.identifier(self._table),
                ids=partners.ids,
            )
        )
        if rows:
            messages = self.browse([message_id for (message_id,) in rows])
            messages.invalidate_recordset(
                ["pending_partner_list", "pending_partner_done"]
            )
            messages._update_state()

    def _insert_recipients(self, partners, cancel_reason=None):
        """Insert the lines of a batch of customers, in one query."""
        self.ensure_one()
        reasons = self._get_exclusion_reasons(partners)
        addresses = self._get_address_partners(partners)
        trigger_keys = self.env.context.get("customer_messages_trigger_keys") or {}
        states, failures = [], []
        for partner_id in partners.ids:
            reason = reasons.get(partner_id)
            if reason:
                states.append("cancelled")
                failures.append(self.env._("Excluded: %(reason)s", reason=reason))
            else:
                states.append("cancelled" if cancel_reason else "new")
                failures.append(cancel_reason or None)
        self.flush_recordset()
        partners.flush_model(["email", "phone", "tz"])
        send_times = self._get_send_times(partners.ids)
        now = self.env.cr.now()
        # sql: 100,000 lines are made in batches of thousands, one query each
        # (the ORM takes milliseconds per line and keeps them in its cache);
        # the stored related fields copy the message, as the ORM does
        self.env.execute_query(
            SQL(
                """INSERT INTO %(table)s (
                        message_id, partner_id, company_id, channel, origin,
                        message_date, email, phone, state, failure_reason,
                        done_date, trigger_key, scheduled_date, address_partner_id,
                        create_uid, create_date, write_uid, write_date)
                   SELECT message.id, partner.id, message.company_id,
                          message.channel, message.origin, message.date,
                          COALESCE(NULLIF(message.test_email, ''), address.email),
                          COALESCE(NULLIF(message.test_phone, ''), partner.phone),
                          line.state, line.failure_reason,
                          CASE WHEN line.state = 'cancelled' THEN %(now)s END,
                          line.trigger_key, zone.send_at, line.address_id,
                          %(uid)s, %(now)s, %(uid)s, %(now)s
                     FROM unnest(%(partner_ids)s::int[], %(states)s::varchar[],
                                 %(failures)s::text[], %(keys)s::varchar[],
                                 %(addresses)s::int[])
                          AS line(partner_id, state, failure_reason, trigger_key,
                                  address_id)
                     JOIN res_partner partner ON partner.id = line.partner_id
                     JOIN res_partner address
                       ON address.id = COALESCE(line.address_id, line.partner_id)
                     JOIN customer_message message ON message.id = %(message_id)s
                LEFT JOIN unnest(%(zones)s::varchar[], %(send_times)s::timestamp[])
                          AS zone(tz, send_at)
                       ON zone.tz IS NOT DISTINCT FROM partner.tz
                 ORDER BY line.partner_id
              ON CONFLICT (message_id, partner_id) DO NOTHING""",
                table=SQL.identifier(self.env["customer.message.recipient"]._table),
                now=now,
                uid=self.env.uid,
                partner_ids=partners.ids,
                states=states,
                failures=failures,
                keys=[trigger_keys.get(partner_id) for partner_id in partners.ids],
                addresses=[addresses.get(partner_id) for partner_id in partners.ids],
                message_id=self.id,
                zones=list(send_times),
                send_times=list(send_times.values()),
            )
        )

    @api.model
    def _get_creation_batch_size(self):
        return int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_messages.creation_batch_size", 5000)
        )

    # --- exclusions: evaluated in SQL, for all the customers at once

    @api.model
    def _get_exclusion_rules(self, channel, partners):
        """Extension point: why customers cannot receive a message on the
        channel, as a list of ``(domain on res.partner, reason)`` in order of
        precedence: a customer is excluded with the reason of the first domain
        it matches. A reason is a text, or a function of the partner that
        gives it (a text naming the customer's data). The domains are
        evaluated in SQL on every customer at once (the composer counts
        100,000 at each change): stored fields, searchable ones, or
        ``Domain.custom``.

        :param Query partners: the customers considered, for a rule that
            looks at them first
        """
        if self and self.test_email:
            if not email_normalize(self.test_email):
                raise UserError(
                    self.env._(
                        "The test address %(email)s is not valid.",
                        email=self.test_email,
                    )
                )
            return []
        if self and self.test_phone:
            return []  # the number typed for the test, checked by the composer
        category = self._get_exclusion_category()
        rules = []
        if channel in EMAIL_CHANNELS:
            rules = [
                (Domain("email", "=", False), self.env._("no email address")),
                (
                    Domain("email_normalized", "=", False)
                    | Domain("id", "in", self._get_multiple_address_ids(partners)),
                    lambda partner: self.env._(
                        "invalid email address %(email)s", email=partner.email
                    ),
                ),
                (
                    self._get_blacklisted_domain(),
                    self.env._("email address blacklisted"),
                ),
                (
                    Domain("email_suppressed", "=", True),
                    self.env._("email address bounced"),
                ),
            ]
            if category.recipient_route == "invoice":
                # routed to the invoice contact: the customer's own address
                # matters only for those without a usable one
                routed = Domain("child_ids", "any", self._get_routing_contact_domain())
                rules = [(domain & ~routed, reason) for domain, reason in rules]
        elif channel == "sms":
            # phone_sanitized: the number in E.164 for the customer's country
            # (else the company's), as Odoo's SMS send it, or nothing
            rules = [
                (Domain("phone", "=", False), self.env._("no phone number")),
                (
                    Domain("phone_sanitized", "=", False),
                    lambda partner: self.env._(
                        "phone number %(phone)s not usable for SMS", phone=partner.phone
                    ),
                ),
                (
                    self._get_phone_blacklisted_domain(),
                    lambda partner: self.env._(
                        "phone number %(phone)s blacklisted (the customer sent STOP)",
                        phone=partner.phone,
                    ),
                ),
            ]
        elif channel == "portal":
            rules = [
                (
                    self._get_without_portal_domain(),
                    self.env._("no customer portal access"),
                )
            ]
        if category and category.allow_opt_out:
            rules.append(
                (
                    Domain(
                        "customer_message_preference_ids",
                        "any",
                        Domain("category_id", "=", category.id)
                        & Domain("channel", "in", MESSAGE_PREFERENCE_CHANNELS[channel])
                        & Domain("opted_out", "=", True),
                    ),
                    self.env._(
                        "opted out of %(category)s messages", category=category.name
                    ),
                )
            )
        return rules

    def _get_exclusion_category(self):
        """The category whose opt-outs exclude customers: the message's, or
        for the composer (no message yet) the context key
        customer_messages_category_id."""
        if self:
            return self.category_id
        return self.env["customer.message.category"].browse(
            self.env.context.get("customer_messages_category_id") or ()
        )

    @api.model
    def _get_routing_contact_domain(self):
        """The contacts of a customer a category routed to the invoice
        address may send to: invoice addresses with one usable email address
        (neither blacklisted nor bounced)."""
        domain = (
            Domain("type", "=", "invoice")
            & Domain("email_normalized", "!=", False)
            & Domain("email", "not like", "%@%@%")
            & ~self._get_blacklisted_domain()
        )
        return domain & Domain("email_suppressed", "=", False)

    def _get_address_partners(self, partners):
        """{customer id: contact id} of the customers whose emails go to
        another contact (their category is routed to the invoice address):
        the first usable contact by id, in one query; the others are absent
        (they get the message themselves)."""
        self.ensure_one()
        if (
            self.category_id.recipient_route != "invoice"
            or self.channel not in EMAIL_CHANNELS
            or self.test_email
            or not partners
        ):
            return {}
        # sudo: only the contacts of the customers picked are looked at
        contacts = (
            self.env["res.partner"]
            .sudo()
            .search_fetch(
                Domain("parent_id", "in", partners.ids)
                & self._get_routing_contact_domain(),
                ["parent_id"],
                order="id desc",
            )
        )
        return {contact.parent_id.id: contact.id for contact in contacts}

    @api.model
    def _get_sms_setup_error(self, company=None):
        """Why the company cannot send SMS at all, in words, or None.

        Odoo sends SMS through its IAP service unless another provider is
        installed (Twilio...) or ``sms.endpoint`` names a gateway of its own;
        through IAP, an SMS account must have been registered for the
        company (Settings > SMS). Without one, Odoo's queue only gets a
        "Server Error" (or "Unregistered Account") back for every SMS."""
        company = company or self.env.company
        if not issubclass(company._get_sms_api_class(), SmsApi):
            return None  # another provider, with its own settings
        # sudo: configuration read only
        if self.env["ir.config_parameter"].sudo().get_param("sms.endpoint"):
            return None
        registered = (
            self.env["iap.account"]
            .sudo()
            .search_count(
                Domain("service_name", "=", "sms")
                & Domain("state", "=", "registered")
                & (
                    Domain("company_ids", "in", company.ids)
                    | Domain("company_ids", "=", False)
                ),
                limit=1,
            )
        )
        if registered:
            return None
        return self.env._(
            "No SMS provider is set up for %(company)s: register its SMS account "
            "in Settings > General Settings > SMS (or install another SMS "
            "provider), then send again.",
            company=company.name,
        )

    @api.model
    def _get_bounce_limit(self):
        """Customers with this many bounced emails are excluded (0: never;
        see res.partner._note_email_bounce)."""
        return self.env["res.partner"]._get_bounce_limit()

    @api.model
    def _get_multiple_address_ids(self, partners):
        """The customers whose email field holds more than one address: Odoo
        stores the first one as normalized, they count as invalid (one address
        per customer)."""
        candidates = (
            self.env["res.partner"]
            .sudo()  # sudo: only the addresses of the customers are read
            .search_fetch(
                Domain("id", "any!", partners) & Domain("email", "=like", "%@%@%"),
                ["email"],
            )
        )
        return [
            partner.id for partner in candidates if not email_normalize(partner.email)
        ]

    @api.model
    def _get_blacklisted_domain(self):
        Blacklist = self.env["mail.blacklist"].sudo()  # sudo: addresses compared only
        Blacklist.flush_model(["email", "active"])
        blacklisted = Blacklist._search([]).subselect(
            SQL.identifier(Blacklist._table, "email")
        )
        return Domain.custom(
            to_sql=lambda model, alias, query: SQL(
                "%s IN %s",
                model._field_to_sql(alias, "email_normalized", query),
                blacklisted,
            )
        )

    @api.model
    def _get_phone_blacklisted_domain(self):
        """The customers whose number (in E.164) is in Odoo's phone blacklist
        (phone.blacklist: STOP received, or added by staff)."""
        Blacklist = self.env["phone.blacklist"].sudo()  # sudo: numbers compared only
        Blacklist.flush_model(["number", "active"])
        blacklisted = Blacklist._search([]).subselect(
            SQL.identifier(Blacklist._table, "number")
        )
        return Domain.custom(
            to_sql=lambda model, alias, query: SQL(
                "%s IN %s",
                model._field_to_sql(alias, "phone_sanitized", query),
                blacklisted,
            )
        )

    @api.model
    def _get_without_portal_domain(self):
        """The customers whose company (commercial partner) has no portal user."""
        # sudo: portal users are only counted, per customer
        users = self.env["res.users"].sudo()._search([("share", "=", True)])
        user_partners = users.subselect(SQL.identifier(users.table, "partner_id"))
        with_portal = (
            self.env["res.partner"].sudo()._search(Domain("id", "any!", user_partners))
        )
        companies = with_portal.subselect(
            SQL.identifier(with_portal.table, "commercial_partner_id")
        )
        return Domain.custom(
            to_sql=lambda model, alias, query: SQL(
                "%s NOT IN %s",
                model._field_to_sql(alias, "commercial_partner_id", query),
                companies,
            )
        )

    def _select_exclusions(self, partners, channel=None):
        """The rules of the channel, and the SQL selecting each customer of
        ``partners`` (a recordset or a Query) with the index of the first rule
        it matches ("rule", NULL for none)."""
        channel = channel or self.channel
        query = (
            partners
            if isinstance(partners, Query)
            else partners._as_query(ordered=False)
        )
        rules = self._get_exclusion_rules(channel, query)
        # sudo: the rules are the system's (blacklist, portal users...), on
        # customers picked with the user's rights
        Partner = self.env["res.partner"].sudo()
        alias = query.table
        cases = [
            SQL(
                "WHEN %s THEN %s",
                Domain(domain).optimize_full(Partner)._to_sql(Partner, alias, query),
                index,
            )
            for index, (domain, _reason) in enumerate(rules)
        ]
        rule = SQL("CASE %s END", SQL(" ").join(cases)) if cases else SQL("NULL::int")
        select = query.select(
            SQL("%s AS id", SQL.identifier(alias, "id")), SQL("%s AS rule", rule)
        )
        return rules, select

    def _describe_exclusions(self, rules, rows):
        """[(partner, reason)] of rows (partner id, rule index), in order."""
        partners = self.env["res.partner"].browse(
            [partner_id for partner_id, _rule in rows]
        )
        described = []
        for partner, (_partner_id, index) in zip(partners, rows, strict=True):
            reason = rules[index][1]
            described.append((partner, reason(partner) if callable(reason) else reason))
        return described

    @api.model
    def _get_exclusion_reasons(self, partners, channel=None):
        """{partner id: why it cannot receive on the channel} for the
        customers of ``partners`` (a recordset or a Query) that cannot, in a
        few queries whatever their number. New reasons: _get_exclusion_rules."""
        rules, select = self._select_exclusions(partners, channel)
        rows = self.env.execute_query(
            SQL(
                "SELECT id, rule FROM (%s) AS customer "
                "WHERE rule IS NOT NULL ORDER BY id",
                select,
            )
        )
        return {
            partner.id: reason
            for partner, reason in self._describe_exclusions(rules, rows)
        }

    @api.model
    def _summarize_recipients(self, partners, channel=None, limit=20):
        """What the composer shows of the customers of ``partners`` (a
        recordset or a Query) on the channel, in one query whatever their
        number: ``{"count": how many can receive it, "first": the first of
        them, "excluded_count": how many cannot, "excluded": [(partner,
        reason)] for the first ``limit`` of those}`` (in the order of ids)."""
        rules, select = self._select_exclusions(partners, channel)
        count = excluded_count = 0
        first_id = None
        excluded = []
        # counted in one pass (a hash aggregate); the first excluded of each
        # reason picked from its ids (a top-N sort), not by sorting them all
        for rule, rule_count, min_id, first_ids in self.env.execute_query(
            SQL(
                """SELECT rule, total, first_id,
                          ARRAY(SELECT id FROM unnest(ids) AS id ORDER BY id LIMIT %s)
                     FROM (SELECT rule, count(*) AS total, min(id) AS first_id,
                                  array_agg(id) FILTER (WHERE rule IS NOT NULL) AS ids
                             FROM (%s) AS customer
                         GROUP BY rule) AS by_rule""",
                limit,
                select,
            )
        ):
            if rule is None:
                count, first_id = rule_count, min_id
            else:
                excluded_count += rule_count
                excluded += [(partner_id, rule) for partner_id in first_ids]
        return {
            "count": count,
            "first": self.env["res.partner"].browse(first_id),
            "excluded_count": excluded_count,
            "excluded": self._describe_exclusions(rules, sorted(excluded)[:limit]),
        }

    @api.model
    def _get_sendable_partners(self, partners, channel=None, offset=0, limit=None):
        """The customers of ``partners`` (a recordset or a Query) who can
        receive on the channel, in the order of ids."""
        _rules, select = self._select_exclusions(partners, channel)
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM (%s) AS customer WHERE rule IS NULL "
                "ORDER BY id LIMIT %s OFFSET %s",
                select,
                limit,
                offset,
            )
        )
        return self.env["res.partner"].browse([partner_id for (partner_id,) in rows])

    @api.model
    def _get_sendable_position(self, partners, partner, channel=None):
        """Where ``partner`` is among the customers of ``partners`` who can
        receive on the channel (in the order of ids, as
        ``_get_sendable_partners``), or None when it is not one of them; in
        one query whatever their number."""
        _rules, select = self._select_exclusions(partners, channel)
        [(is_sendable, position)] = self.env.execute_query(
            SQL(
                "SELECT bool_or(id = %s), count(*) FILTER (WHERE id < %s) "
                "FROM (%s) AS customer WHERE rule IS NULL",
                partner.id,
                partner.id,
                select,
            )
        )
        return position if is_sendable else None

    @api.model
    def _get_sendable_domain(self, partners, channel=None):
        """A domain on res.partner: the customers of ``partners`` (a Query)
        who can receive on the channel, as a subquery (for pickers)."""
        _rules, select = self._select_exclusions(partners, channel)
        sendable = SQL("SELECT id FROM (%s) AS customer WHERE rule IS NULL", select)
        return Domain.custom(
            to_sql=lambda model, alias, query: SQL(
                "%s IN (%s)", model._field_to_sql(alias, "id", query), sendable
            )
        )

    # ------------------------------------------------------------------
    # 3. QUEUE
    # ------------------------------------------------------------------

    def _action_queue(self, process="auto"):
        """Process the due messages now, or hand them to the cron (at their
        scheduled time); see _send_to_customers for ``process``."""
        to_cron = self.browse()
        now = fields.Datetime.now()
        for message in self:
            due_date = message._get_next_due_date()
            if due_date != message.due_date:
                message.due_date = due_date
            due = not due_date or due_date <= now
            small = message.pending_count <= IMMEDIATE_LIMIT
            if due and (process == "now" or (process == "auto" and small)):
                message._process()
            else:
                to_cron |= message
        if to_cron:
            cron = self.env.ref("customer_messages.ir_cron_customer_message_process")
            for due_date in set(to_cron.mapped("due_date")):
                cron._trigger(at=due_date or None)
        return True

    @api.model
    def _get_batch_size(self):
        return int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_messages.batch_size", 500)
        )

    def _get_line_batch_size(self):
        """Lines processed per batch of this message: fewer when it attaches
        documents, whose PDFs may have to be rendered (a few tenths of a
        second each), so that every cron worker gets batches of them."""
        self.ensure_one()
        if self._attaches_documents():
            return int(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("customer_messages.document_batch_size", 20)
            )
        return self._get_batch_size()

    @api.model
    def _auto_commit(self):
        """Commit per batch, except in tests, which roll back."""
        return not modules.module.current_test and not getattr(
            threading.current_thread(), "testing", False
        )

    # ------------------------------------------------------------------
    # 4. BATCHES
    # ------------------------------------------------------------------

    def _process(self, limit=None, make_lines=True):
        """Deliver to the new recipients of the messages, batch by batch.

        Each batch is locked (another worker skips it), rendered and queued
        (``_queue_batch``), then its queue records are sent. Every cron
        worker processes batches: the processing cron wakes the sending
        crons up when there is more than one batch, and they take the
        batches it has not locked (``_cron_send_emails``), so N workers
        render N batches (and their PDFs) at once. Emails left queued are
        sent by ``_deliver_queued_emails``, which all workers run as well.

        :param limit: stop after about this many recipients (cron time box)
        :param bool make_lines: make the lines not made yet first (the
            processing cron; the other workers take the lines made)
        :return: the number of recipients processed
        """
        done = 0
        auto_commit = self._auto_commit()
        Recipient = self.env["customer.message.recipient"]
        for message in self:
            if message.state in ("cancelled", "removed", "sent", "error"):
                continue
            if message.state == "new":
                message.state = "processing"
            if make_lines:
                # the lines not made yet first (see _create_recipients)
                message._create_pending_recipients(commit=auto_commit)
            batch_size = message._get_line_batch_size()
            last_id = 0
            while (limit is None or done < limit) and not self._out_of_time():
                batch = Recipient._lock_new(message, last_id, batch_size)
                if not batch:
                    break
                first_batch = not last_id
                last_id = batch[-1].id
                if auto_commit and first_batch and len(batch) == batch_size:
                    # more batches follow: the other workers take some
                    self.env["mail.mail"]._trigger_sending_crons()
                message._process_batch(batch, hand_over=len(batch) == batch_size)
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
            if message.state == "processing":
                # customers held (their time zone, quiet hours) come later
                message._wait_for_held_recipients()
        return done

    def _process_batch(self, lines, hand_over=False):
        """Queue a batch of lines of this message, then send it.

        The batch is prepared in a savepoint: when it fails (a template error
        for one customer...), each line is prepared alone, and the ones that
        fail get the error as their status. Sending happens after, outside
        any savepoint, since it commits as it sends.

        :param bool hand_over: more batches follow: leave the last emails to
            the sending cron (see mail.mail._send_queued_in_chunks)
        """
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._queue_batch(lines)
        except Exception:  # noqa: BLE001 - any error becomes the lines' status
            for line in lines:
                try:
                    with self.env.cr.savepoint():
                        self._queue_batch(line)
                except Exception as error:  # noqa: BLE001
                    _logger.warning(
                        "Customer message %s to partner %s failed: %s",
                        self.id,
                        line.partner_id.id,
                        error,
                    )
                    line._set_delivery_result(self._describe_failure(error))
        lines.filtered(lambda line: line.state == "processing")._deliver(
            hand_over=hand_over
        )

    @api.model
    def _describe_failure(self, error):
        """The reason a line failed, in words: the error and what caused it
        (Odoo's "Failed to render..." hides the template's own error)."""
        reason = str(error) or error.__class__.__name__
        if error.__cause__ and str(error.__cause__) not in reason:
            reason = f"{reason}\n{error.__cause__}"
        return reason

    def _queue_batch(self, lines):
        """Render the lines' content and documents, publish them in the
        portal and create their queue records, per channel. Lines that got
        part of it in an earlier try (a crash) get only the rest."""
        self.ensure_one()
        new = lines.filtered(lambda line: line.state == "new")
        if new:
            partners = new.partner_id
            new._set_content(
                self._render_for_partners(partners),
                self._get_document_attachments(self._get_documents(partners)),
            )
        if self.channel in PORTAL_CHANNELS:
            lines.filtered(lambda line: not line.portal_message_id)._publish_in_portal()
        if self.channel in EMAIL_CHANNELS:
            lines.filtered(lambda line: not line.mail_mail_id)._create_emails(
                self._get_email_from()
            )
        elif self.channel == "sms":
            lines = lines.filtered(lambda line: not line.sms_id)
            setup_error = lines and self._get_sms_setup_error(self.company_id)
            if setup_error:
                # nothing could carry them: failed at once, with the reason
                lines._set_delivery_result(setup_error)
            else:
                lines._create_sms()

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

    def _get_email_from(self):
        self.ensure_one()
        return (
            self.author_id.email_formatted
            or self.company_id.email_formatted
            or self.env.user.email_formatted
        )

    # ------------------------------------------------------------------
    # 5. CRONS
    # ------------------------------------------------------------------

    @api.model
    def _cron_process(self):
        """Process the due messages, batch by batch, committing progress,
        then what earlier runs left behind."""
        messages = self.search(
            Domain("state", "in", ("new", "processing"))
            & (
                Domain("due_date", "=", False)
                | Domain("due_date", "<=", fields.Datetime.now())
            ),
            order="id",
        )
        for message in messages:
            message._process()
        # emails queued and not sent yet (a crash, a closed SMTP session, a
        # later try...)
        sent = self._deliver_queued_emails()
        # SMS left queued the same way
        stalled_sms = self.env["customer.message.recipient"].search(
            [("state", "=", "processing"), ("sms_id.state", "=", "outgoing")],
            limit=self._get_batch_size(),
        )
        stalled_sms._deliver()
        (sent | stalled_sms.message_id)._update_state()
        self._end_sending_run()

    @api.model
    def _cron_send_emails(self):
        """A worker beside the processing cron: it takes batches of the
        messages being processed (see _process), then sends queued emails."""
        processing = self.search(
            Domain("state", "=", "processing")
            & (
                Domain("due_date", "=", False)
                | Domain("due_date", "<=", fields.Datetime.now())
            ),
            order="id",
        )
        for message in processing:
            message._process(make_lines=False)
        (processing | self._deliver_queued_emails())._update_state()
        self._end_sending_run()

    @api.model
    def _deliver_queued_emails(self):
        """Send the queued emails of customer messages until none is left,
        chunk by chunk: several workers may run it at once, each chunk is
        claimed by one of them. Emails tried in this run and queued again
        (the server ended the session...) wait for the next one, as do all
        of them once a sending limit holds them.

        :return: the messages whose emails were sent
        """
        MailMail = self.env["mail.mail"].sudo()  # sudo: queue records
        # what workers that died left behind goes out again first
        recovered = MailMail._recover_claims()
        now = fields.Datetime.now()
        domain = (
            Domain("customer_message_recipient_id", "!=", False)
            & Domain("state", "=", "outgoing")
            & Domain("customer_message_claim_pid", "in", (0, False))
            & (
                Domain("scheduled_date", "=", False)
                | Domain("scheduled_date", "<=", now)
            )
        )
        messages = recovered
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
            if mails._send_queued_in_chunks(auto_commit=self._auto_commit()):
                break  # a sending limit holds the rest until its next slot
        return messages
