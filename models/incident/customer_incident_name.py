from odoo import api, fields, models


class CustomerIncident(models.Model):
    """The name an incident gets by itself: its kind and locations
    ("Unplanned outage: North Town"), kept up to date until someone types
    another one. An outage notice to one location is then New, the
    location, Send notice."""

    _inherit = "customer.incident"

    name = fields.Char(
        compute="_compute_name", store=True, readonly=False, precompute=True
    )

    @api.depends("kind", "location_ids")
    def _compute_name(self):
        labels = dict(self._fields["kind"]._description_selection(self.env))
        for incident in self:
            if incident.notice_date or not incident._has_default_name(labels):
                incident.name = incident.name
            else:
                incident.name = incident._get_default_name(labels)

    def _get_default_name(self, labels):
        self.ensure_one()
        label = labels.get(self.kind) or ""
        places = ", ".join(self.location_ids.mapped("name"))
        return f"{label}: {places}" if places else label

    def _has_default_name(self, labels):
        """No name, or one made by ``_get_default_name`` (typed names are
        kept)."""
        self.ensure_one()
        name = self.name or ""
        return not name or any(
            name == label or name.startswith(f"{label}: ") for label in labels.values()
        )
