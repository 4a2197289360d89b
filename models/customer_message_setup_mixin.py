from odoo import SUPERUSER_ID, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from odoo.addons.base.models.res_partner import _tz_get

MANAGER_GROUP = "customer_messages.customer_messages_group_manager"


class CustomerMessageSetupMixin(models.AbstractModel):
    """What sets up messages sent later without a click (recurring
    messages, incidents, reminder rules, server actions): the system records
    who configured it last (``configured_uid``, never taken from the user's
    values), and the messages it sends carry that user: the approval gate
    (``customer.message._needs_approval``) decides from them, not from the
    process that sends. Also refuses unknown time zones and numbers out of
    bounds (``_customer_message_bounds``), and keeps a plain Messages /
    User's record theirs (``_customer_message_responsible_field``)."""

    _name = "customer.message.setup.mixin"
    _description = "Customer messages set up to be sent later"

    # {field: (lowest, highest)}: the numbers accepted
    _customer_message_bounds = {}
    # the field naming the author of the messages sent (only a manager names
    # someone else than themselves)
    _customer_message_responsible_field = None

    configured_uid = fields.Many2one(
        "res.users",
        string="Set up by",
        readonly=True,
        copy=False,
        help="Who created or changed it last: when they are not a Messages / "
        "Manager, the messages it sends wait for approval like theirs.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        vals_list = [self._prepare_setup_values(vals) for vals in vals_list]
        for vals in vals_list:
            vals["configured_uid"] = self.env.uid
        return super().create(vals_list)

    def write(self, vals):
        vals = self._prepare_setup_values(vals)
        # the scheduler (the superuser) moving a next run or a state is not
        # a configuration: the last user's stays
        if self.env.uid != SUPERUSER_ID:
            vals["configured_uid"] = self.env.uid
        return super().write(vals)

    def copy_data(self, default=None):
        # a plain user's copy is his, whoever the original's responsible
        fname = self._customer_message_responsible_field
        if fname and not self._is_setup_trusted(self.env.user):
            default = dict(default or {}, **{fname: self.env.uid})
        return super().copy_data(default=default)

    def _prepare_setup_values(self, vals):
        """The values checked, with the system's fields dropped (whoever
        sends them) and a plain user's own responsible."""
        vals = dict(vals)
        vals.pop("configured_uid", None)
        for fname, (lowest, highest) in self._customer_message_bounds.items():
            if fname in vals:
                self._check_setup_number(fname, vals[fname], lowest, highest)
        if "tz" in self._fields and vals.get("tz"):
            if vals["tz"] not in dict(_tz_get(self)):
                raise ValidationError(
                    self.env._("%(tz)s is not a known time zone.", tz=vals["tz"])
                )
        fname = self._customer_message_responsible_field
        if fname and not self._is_setup_trusted(self.env.user):
            if vals.get(fname) and vals[fname] != self.env.uid:
                raise AccessError(
                    self.env._(
                        "Only a Messages / Manager names another responsible: "
                        "the messages you set up are sent in your name."
                    )
                )
            vals[fname] = self.env.uid
        return vals

    def _check_setup_number(self, fname, value, lowest, highest):
        field = self._fields[fname]
        try:
            number = field.convert_to_cache(value or 0, self)
        except (TypeError, ValueError):
            number = None
        if number is None or not lowest <= number <= highest:
            raise ValidationError(
                self.env._(
                    "%(field)s must be between %(lowest)s and %(highest)s.",
                    field=field._description_string(self.env),
                    lowest=lowest,
                    highest=highest,
                )
            )

    @api.model
    def _is_setup_trusted(self, user):
        """Whether what ``user`` sets up goes without approval: Messages /
        Managers and Odoo's administrators (the superuser included)."""
        # sudo: reading a user's groups, whoever asks
        user = user.sudo()
        return bool(user) and (
            user._is_superuser() or user._is_system() or user.has_group(MANAGER_GROUP)
        )

    def _get_configurer(self):
        """The user who configured it last (its creator for records made
        before the module recorded it)."""
        self.ensure_one()
        return self.configured_uid or self.create_uid
