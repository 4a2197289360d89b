from odoo import api, models

# What customers text to stop or restart SMS (the words carriers and SMS
# providers use), in capitals.
STOP_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"}
START_KEYWORDS = {"START", "UNSTOP", "SUBSCRIBE", "YES", "OPTIN"}


class PhoneBlacklist(models.Model):
    _inherit = "phone.blacklist"

    def _add(self, numbers, message=None):
        """Every number that gets blacklisted (it was not) is a consent
        change: recorded in the consent log, as are preferences."""
        blocked = self._customer_message_active_numbers(numbers)
        records = super()._add(numbers, message=message)
        self._customer_message_record_consent(
            [number for number in numbers if number not in blocked], opted_out=True
        )
        return records

    def _remove(self, numbers, message=None):
        blocked = self._customer_message_active_numbers(numbers)
        records = super()._remove(numbers, message=message)
        self._customer_message_record_consent(
            [number for number in numbers if number in blocked], opted_out=False
        )
        return records

    @api.model
    def _customer_message_active_numbers(self, numbers):
        return set(
            self.env["phone.blacklist"]
            .search([("number", "in", list(numbers))])
            .mapped("number")
        )

    @api.model
    def _customer_message_record_consent(self, numbers, opted_out):
        """Write in the consent log that these numbers stopped (or started
        again) receiving SMS: a line per customer with that number, or one
        line without customer for a number nobody has."""
        numbers = list(dict.fromkeys(numbers))
        if not numbers:
            return
        # sudo: the customers whose number the caller just (un)blacklisted,
        # only their ids and companies are written in the log
        partners = (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search([("phone_sanitized", "in", numbers)])
        )
        Partner = self.env["res.partner"]
        Category = self.env["customer.message.category"]
        changes = []
        for number in numbers:
            owners = partners.filtered(lambda p, n=number: p.phone_sanitized == n)
            changes += [
                {
                    "partner": owner,
                    "category": Category,
                    "channel": "sms",
                    "opted_out": opted_out,
                    "number": number,
                }
                for owner in owners or [Partner]
            ]
        self.env["customer.message.consent.log"]._record(changes)

    @api.model
    def _customer_message_inbound(self, number, text):
        """An SMS a customer sent to the provider's number: STOP (and its
        synonyms) adds the number to the blacklist, START removes it (the
        consent log says it came by SMS keyword when called as superuser,
        as the webhook does).

        :return: "blacklisted", "removed" or "ignored" (another text, or a
            number that cannot be read)
        """
        words = (text or "").strip().upper().split()
        keyword = words[0].strip(".!") if words else ""
        sanitized = self.env["res.partner"]._phone_format(
            number=(number or "").strip(), force_format="E164"
        )
        if not sanitized or keyword not in STOP_KEYWORDS | START_KEYWORDS:
            return "ignored"
        blacklist = self.with_context(
            **self.env["customer.message.consent.log"]._get_source_context(
                "sms_keyword"
            )
        )
        message = self.env._("The customer texted %(word)s.", word=keyword)
        if keyword in STOP_KEYWORDS:
            blacklist._add([sanitized], message=message)
            return "blacklisted"
        blacklist._remove([sanitized], message=message)
        return "removed"
