from odoo import api, fields, models


class CustomerService(models.Model):
    _name = "customer.service"
    _description = "Customer Service"
    _order = "partner_id, start_date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    tariff_id = fields.Many2one(
        "customer.tariff",
        string="Tariff plan",
        required=True,
        index=True,
        check_company=True,
    )
    service_type = fields.Selection(
        related="tariff_id.service_type", store=True, index=True, string="Service type"
    )
    status = fields.Selection(
        selection=[
            ("active", "Active"),
            ("stopped", "Stopped"),
            ("disabled", "Disabled"),
            ("pending", "Pending"),
        ],
        required=True,
        default="pending",
        index=True,
    )
    start_date = fields.Date(default=fields.Date.context_today)
    end_date = fields.Date()
    description = fields.Char()

    _dates_ordered = models.Constraint(
        "CHECK (end_date IS NULL OR start_date IS NULL OR end_date >= start_date)",
        "A service cannot end before it starts.",
    )

    @api.depends("tariff_id", "partner_id")
    def _compute_display_name(self):
        for service in self:
            service.display_name = (
                service.description or service.tariff_id.display_name or ""
            )
