from odoo import fields, models


class CustomerTariff(models.Model):
    _name = "customer.tariff"
    _description = "Tariff Plan"
    _order = "service_type, name, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    service_type = fields.Selection(
        selection=[("internet", "Internet"), ("voice", "Voice"), ("custom", "Custom")],
        required=True,
        default="internet",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    price = fields.Monetary(help="Monthly price of the plan, taxes excluded.")
    product_id = fields.Many2one(
        "product.product",
        check_company=True,
        help="Product invoiced for this plan, when invoices are made from Odoo.",
    )
    active = fields.Boolean(default=True)
    service_count = fields.Integer(string="Services", compute="_compute_service_count")

    def _compute_service_count(self):
        counts = dict(
            self.env["customer.service"]._read_group(
                [("tariff_id", "in", self.ids)], ["tariff_id"], ["__count"]
            )
        )
        for tariff in self:
            tariff.service_count = counts.get(tariff, 0)
