from odoo import api, fields, models


class CustomerMessageSchedule(models.Model):
    """A recurring message as staff read it: its subject and its name follow
    the display rule of the history (``customer.message._get_readable_text``):
    no raw ``{{ }}`` in the list, and a name made from a subject with
    placeholders (the composer's *Repeat*) reads "Monthly newsletter for
    [Customer]"."""

    _inherit = "customer.message.schedule"

    display_subject = fields.Char(
        string="Subject shown",
        compute="_compute_display_subject",
        help="The subject with the customer's placeholders shown as labels in "
        "brackets ([Customer]).",
    )

    @api.depends("subject")
    @api.depends_context("lang")
    def _compute_display_subject(self):
        readable = self.env["customer.message"]._get_readable_text
        for schedule in self:
            schedule.display_subject = readable(schedule.subject)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        if values.get("name"):
            values["name"] = self._get_readable_name(values["name"])
        return values

    @api.model
    def _get_readable_name(self, name):
        return self.env["customer.message"]._get_readable_text(name)
