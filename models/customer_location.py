from odoo import fields, models


class CustomerLocation(models.Model):
    _name = "customer.location"
    _description = "Customer Location"
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        help="Short code used by staff and imports, e.g. the town or POP code."
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    active = fields.Boolean(default=True)
    partner_count = fields.Integer(string="Customers", compute="_compute_partner_count")

    _code_company_uniq = models.UniqueIndex(
        "(company_id, lower(code)) WHERE code IS NOT NULL",
        "Another location of this company already uses this code.",
    )

    def _compute_partner_count(self):
        counts = dict(
            self.env["res.partner"]._read_group(
                [("location_id", "in", self.ids)], ["location_id"], ["__count"]
            )
        )
        for location in self:
            location.partner_count = counts.get(location, 0)
