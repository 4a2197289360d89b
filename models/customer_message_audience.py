from odoo import api, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL, clean_context, split_every

from .customer_message import EMAIL_CHANNELS


class CustomerMessage(models.Model):
    """Step 2 of the send path (customer_message_sending.py): the audience.
    Who the customers of the records are, and their lines: one per customer,
    made in SQL batch by batch (one INSERT ... SELECT each, whatever their
    number), the excluded ones cancelled with the reason the exclusion
    engine gives (customer_message_exclusions.py)."""

    _inherit = "customer.message"

    # ------------------------------------------------------------------
    # 2. RECIPIENTS
    # ------------------------------------------------------------------

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
        """Insert the lines of a batch of customers, in one query.

        The query sets every stored column of customer.message.recipient
        the ORM's ``create`` would set (``_get_line_columns``): the values of
        each line below, the stored related fields, the defaults and the log
        access columns; a field added to the line is set without touching
        this query (tests/test_audience.py compares with ``create``).
        """
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
        columns = self._get_line_columns(
            {
                "message_id": SQL("message.id"),
                "partner_id": SQL("partner.id"),
                "email": SQL("COALESCE(NULLIF(message.test_email, ''), address.email)"),
                "phone": SQL("COALESCE(NULLIF(message.test_phone, ''), partner.phone)"),
                "state": SQL("line.state"),
                "failure_reason": SQL("line.failure_reason"),
                "done_date": SQL("CASE WHEN line.state = 'cancelled' THEN %s END", now),
                "trigger_key": SQL("line.trigger_key"),
                "scheduled_date": SQL("zone.send_at"),
                "address_partner_id": SQL("line.address_id"),
            },
            now,
        )
        # sql: 100,000 lines are made in batches of thousands, one query each
        # (the ORM takes milliseconds per line and keeps them in its cache)
        self.env.execute_query(
            SQL(
                """INSERT INTO %(table)s (%(columns)s)
                   SELECT %(values)s
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
                columns=SQL(", ").join(map(SQL.identifier, columns)),
                values=SQL(", ").join(columns.values()),
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
    def _get_line_columns(self, values, now):
        """{column: SQL expression} of the line insert: every stored column
        of customer.message.recipient that the ORM's ``create`` would set,
        derived from the model's fields.

        - ``values``: the expressions of the values given for each line;
        - stored related fields of the message or the customer
          (``message_id.x``, ``partner_id.x``): their column, as the ORM
          copies it (the query joins ``message`` and ``partner``);
        - fields with a default (or a user default, ir.default): the value
          of ``default_get``, the same for every line (the context's
          ``default_*`` keys are left out: they are meant for the caller's
          own records);
        - the log access columns: the user and ``now``.

        A stored field computed otherwise cannot be set in SQL: it raises,
        so that a field added to the line gets a value here, never a silent
        NULL.

        :param dict values: {field name: SQL expression}
        """
        Recipient = self.env["customer.message.recipient"]
        aliases = {"message_id": "message", "partner_id": "partner"}
        magic = {
            "create_uid": SQL("%s", self.env.uid),
            "write_uid": SQL("%s", self.env.uid),
            "create_date": SQL("%s", now),
            "write_date": SQL("%s", now),
        }
        stored = {
            name: field
            for name, field in Recipient._fields.items()
            if field.store and field.column_type and name != "id"
        }
        defaults = Recipient.with_context(clean_context(self.env.context)).default_get(
            [name for name, field in stored.items() if name not in values]
        )
        columns = {}
        for name, field in stored.items():
            if name in values:
                columns[name] = values[name]
            elif name in magic:
                columns[name] = magic[name]
            elif field.related:
                path = field.related.split(".")
                if len(path) != 2 or path[0] not in aliases:
                    raise NotImplementedError(
                        f"{field}: the line insert copies the message's or the "
                        "customer's own columns only (customer_message_audience.py)"
                    )
                model = Recipient._fields[path[0]].comodel_name
                target = self.env[model]._fields[path[1]]
                if not (target.store and target.column_type):
                    raise NotImplementedError(f"{field}: {target} is not a column")
                columns[name] = SQL.identifier(aliases[path[0]], path[1])
            elif name in defaults:
                value = field.convert_to_column_insert(
                    field.convert_to_write(defaults[name], Recipient), Recipient
                )
                columns[name] = SQL("%s::%s", value, SQL(field.column_type[1]))
            elif field.compute:
                raise NotImplementedError(
                    f"{field} is computed: give its value to the line insert "
                    "(customer_message_audience.py)"
                )
        return columns

    @api.model
    def _get_creation_batch_size(self):
        return int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_messages.creation_batch_size", 5000)
        )

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
