from odoo import api, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import SQL, Query, email_normalize

from odoo.addons.sms.tools.sms_api import SmsApi

from .customer_message import EMAIL_CHANNELS

# The precedence of the rules of each kind (``_hook_exclusion_rules``): a
# customer matching several rules is excluded with the reason of the lowest
# sequence; rules of one sequence keep the order they were added in.
CHANNEL_RULES = 10  # the channel cannot reach the customer (this file)
CONSENT_RULES = 50  # the customer said no (customer_message_consent.py)
CAP_RULES = 60  # the daily cap of automated messages (customer_message_daily_cap.py)


class CustomerMessage(models.Model):
    """The exclusion engine: why customers cannot receive a message, decided
    in SQL for all of them at once (the composer counts 100,000 customers at
    each change, the lines of a batch are made with their reason, the gate
    of delivery checks each batch again: customer_message_claim.py).

    One registry of rules: ``_get_exclusion_rules`` builds the list once,
    from the channel's own rules and what the packages add through the hook
    ``_hook_exclusion_rules`` (consent's opt-outs, the daily cap); every
    question (``_get_exclusion_reasons``, ``_summarize_recipients``,
    ``_get_sendable_partners``...) evaluates that list with
    ``_select_exclusions``.
    """

    _inherit = "customer.message"

    # ------------------------------------------------------------------
    # THE RULES
    # ------------------------------------------------------------------

    @api.model
    def _get_exclusion_rules(self, channel, partners):
        """Why customers cannot receive a message on the channel, as a list
        of ``(domain on res.partner, reason)`` in order of precedence: a
        customer is excluded with the reason of the first domain it matches.
        A reason is a text, or a function of the partner that gives it (a
        text naming the customer's data). The domains are evaluated in SQL on
        every customer at once: stored fields, searchable ones, or
        ``Domain.custom``.

        Built here only; do not override it: new rules are added through
        ``_hook_exclusion_rules``. A test send (to the address or number
        typed for it) excludes nobody.

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
        rules = [
            (CHANNEL_RULES, domain, reason)
            for domain, reason in self._get_channel_exclusion_rules(channel, partners)
        ]
        rules = self._hook_exclusion_rules(channel, partners, rules)
        rules.sort(key=lambda rule: rule[0])  # stable: same sequence, same order
        return [(domain, reason) for _sequence, domain, reason in rules]

    @api.model
    def _hook_exclusion_rules(self, channel, partners, rules):
        """Hook: the exclusion rules of the packages. Override it, call
        ``super()``, append to the list it returns tuples ``(sequence,
        domain, reason)`` and return it: ``sequence`` is the rule's
        precedence (see the constants at the top of this file: a package's
        rules run after the channel's ones), ``domain`` and ``reason`` as in
        ``_get_exclusion_rules``. The order of the overrides (the order the
        files are loaded in) never decides: the sequences do.
        ``self`` is the message, or empty for the composer (no message yet).

        The same rules decide at line creation, in the composer's counts and
        at the gate of delivery (the context key ``customer_messages_recheck``
        is set there, for a rule that only makes sense when lines are made).

        :param str channel: the channel of the message
        :param Query partners: the customers considered
        :param list rules: the rules so far, to append to
        :return: ``rules``
        """
        return rules

    @api.model
    def _get_channel_exclusion_rules(self, channel, partners):
        """The rules of the channel itself: an address or a number that
        cannot be used, a blacklist, no portal access."""
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
        """The customers whose address is in Odoo's email blacklist."""
        return self._get_listed_domain("mail.blacklist", "email", "email_normalized")

    @api.model
    def _get_phone_blacklisted_domain(self):
        """The customers whose number (in E.164) is in Odoo's phone blacklist
        (phone.blacklist: STOP received, or added by staff)."""
        return self._get_listed_domain("phone.blacklist", "number", "phone_sanitized")

    @api.model
    def _get_listed_domain(self, blacklist_model, column, partner_field):
        """The customers whose ``partner_field`` is the ``column`` of an
        active row of ``blacklist_model``, as a subquery (no ids read)."""
        Blacklist = self.env[blacklist_model].sudo()  # sudo: values compared only
        Blacklist.flush_model([column, "active"])
        listed = Blacklist._search([]).subselect(
            SQL.identifier(Blacklist._table, column)
        )
        return Domain.custom(
            to_sql=lambda model, alias, query: SQL(
                "%s IN %s",
                model._field_to_sql(alias, partner_field, query),
                listed,
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

    # ------------------------------------------------------------------
    # THE ENGINE: the rules evaluated in SQL, for all the customers at once
    # ------------------------------------------------------------------

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
        few queries whatever their number. New reasons: _hook_exclusion_rules."""
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
    # THE CHANNEL AS A WHOLE: nothing can carry the message
    # ------------------------------------------------------------------

    @api.model
    def _check_channels_ready(self, channels, company=None):
        """The gate of every send (``_send_to_customers``: the composer,
        incident notices, recurring messages, reminder rules, server actions,
        fallbacks, code) and of the composer's checks: a channel that nothing
        can carry is refused with the reason, before any message or line is
        made (an SMS without a provider would only fail on every line)."""
        if "sms" in channels:
            error = self._get_sms_setup_error(company)
            if error:
                raise UserError(error)

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
