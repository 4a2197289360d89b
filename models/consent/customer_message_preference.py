from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from .customer_message_category import PREFERENCE_CHANNELS

# What a preference is about: set when it is created, never changed (a
# choice moved to another customer would opt that customer out unasked).
IMMUTABLE_FIELDS = ("partner_id", "category_id", "channel")


class CustomerMessagePreference(models.Model):
    """A customer's (or a company contact's) choice for one category of
    messages on one channel. No row: the customer receives them.

    Every change of a choice is recorded in the consent log
    (customer.message.consent.log) by create and write; an opt-out is never
    deleted, it is turned back on."""

    _name = "customer.message.preference"
    _description = "Customer Message Preference"
    _order = "partner_id, category_id, channel"
    _rec_name = "category_id"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade"
    )
    category_id = fields.Many2one(
        "customer.message.category",
        required=True,
        index=True,
        ondelete="cascade",
    )
    channel = fields.Selection(selection=PREFERENCE_CHANNELS, required=True)
    opted_out = fields.Boolean(
        string="Opted out",
        default=True,
        help="The customer does not want messages of this category on this channel.",
    )
    company_id = fields.Many2one(
        related="partner_id.company_id", store=True, index=True, string="Company"
    )

    _partner_category_channel_uniq = models.UniqueIndex(
        "(partner_id, category_id, channel)",
        "A customer has one choice per category and channel.",
    )

    @api.constrains("opted_out", "category_id")
    def _check_opt_out_allowed(self):
        locked = self.filtered(
            lambda p: p.opted_out and not p.category_id.allow_opt_out
        )
        if locked:
            raise ValidationError(
                self.env._(
                    "%(categories)s messages cannot be turned off.",
                    categories=", ".join(locked.category_id.mapped("name")),
                )
            )

    @api.model_create_multi
    def create(self, vals_list):
        preferences = super().create(vals_list)
        # a new row that is not an opt-out changes nothing (no row: the
        # customer receives)
        preferences.filtered("opted_out")._record_consent_change()
        return preferences

    def write(self, vals):
        for name in IMMUTABLE_FIELDS:
            if name in vals and any(
                preference._fields[name].convert_to_write(preference[name], preference)
                != vals[name]
                for preference in self
            ):
                raise UserError(
                    self.env._(
                        "The customer, category and channel of a message preference "
                        "cannot be changed: turn the preference on or off instead."
                    )
                )
        changed = self.browse()
        if "opted_out" in vals:
            changed = self.filtered(lambda p: p.opted_out != bool(vals["opted_out"]))
        result = super().write(vals)
        changed._record_consent_change()
        return result

    @api.ondelete(at_uninstall=False)
    def _unlink_except_opted_out(self):
        if any(preference.opted_out for preference in self):
            raise UserError(
                self.env._(
                    "A customer's opt-out cannot be deleted: untick Opted out "
                    "instead, so that the change is recorded."
                )
            )

    def _record_consent_change(self):
        """Write the current choice of these preferences in the consent log
        (the only way preferences reach it)."""
        self.env["customer.message.consent.log"]._record(
            [
                {
                    "partner": preference.partner_id,
                    "category": preference.category_id,
                    "channel": preference.channel,
                    "opted_out": preference.opted_out,
                }
                for preference in self
            ]
        )
