from odoo import api, models
from odoo.fields import Domain

from ..customer_message_exclusions import CONSENT_RULES
from .customer_message_category import MESSAGE_PREFERENCE_CHANNELS


class CustomerMessage(models.Model):
    """What consent adds to the exclusion engine (customer_message_exclusions.py):
    a customer who opted out of the message's category on its channel is
    excluded, when the category allows opting out (Preferences in the
    portal, one-click unsubscribe, staff: customer.message.preference)."""

    _inherit = "customer.message"

    @api.model
    def _hook_exclusion_rules(self, channel, partners, rules):
        rules = super()._hook_exclusion_rules(channel, partners, rules)
        category = self._get_exclusion_category()
        if category and category.allow_opt_out:
            rules.append(
                (
                    CONSENT_RULES,
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
