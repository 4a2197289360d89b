from odoo import fields, models

INVOICE_POLICIES = [
    ("none", "None"),
    ("last", "Last one"),
    ("last_unpaid", "Last unpaid one"),
    ("unpaid", "All unpaid"),
    ("range", "All in the date range"),
]
# a draft is never paid: "Last unpaid one" is an invoices' rule only
PROFORMA_POLICIES = [
    policy for policy in INVOICE_POLICIES if policy[0] != "last_unpaid"
]
PAYMENT_POLICIES = [
    ("none", "None"),
    ("last", "Last one"),
    ("range", "All in the date range"),
]


class CustomerMessageDocumentMixin(models.AbstractModel):
    """Which financial documents of each customer a message attaches: a rule
    per document type. Shared by the messages and their composer."""

    _name = "customer.message.document.mixin"
    _description = "Customer Message Documents"

    invoice_policy = fields.Selection(
        selection=INVOICE_POLICIES, string="Invoices", default="none", required=True
    )
    proforma_policy = fields.Selection(
        selection=PROFORMA_POLICIES,
        string="Pro-forma invoices",
        default="none",
        required=True,
    )
    payment_policy = fields.Selection(
        selection=PAYMENT_POLICIES,
        string="Payment receipts",
        default="none",
        required=True,
    )
    document_date_from = fields.Date(string="Documents from")
    document_date_to = fields.Date(string="Documents to")

    _document_dates_ordered = models.Constraint(
        "CHECK (document_date_to IS NULL OR document_date_from IS NULL "
        "OR document_date_to >= document_date_from)",
        "The documents' date range ends before it starts.",
    )
