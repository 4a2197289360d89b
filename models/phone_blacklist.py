from odoo import api, models

# What customers text to stop or restart SMS (the words carriers and SMS
# providers use), in capitals.
STOP_KEYWORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT"}
START_KEYWORDS = {"START", "UNSTOP", "SUBSCRIBE", "YES", "OPTIN"}


class PhoneBlacklist(models.Model):
    _inherit = "phone.blacklist"

    @api.model
    def _customer_message_inbound(self, number, text):
        """An SMS a customer sent to the provider's number: STOP (and its
        synonyms) adds the number to the blacklist, START removes it.

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
        if keyword in STOP_KEYWORDS:
            self._add(
                [sanitized],
                message=self.env._("The customer texted %(word)s.", word=keyword),
            )
            return "blacklisted"
        self._remove(
            [sanitized],
            message=self.env._("The customer texted %(word)s.", word=keyword),
        )
        return "removed"
