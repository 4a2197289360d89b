from datetime import timedelta

from odoo import models
from odoo.fields import Domain

from .customer_message_rule import INVOICE_TRIGGERS


class CustomerMessageRule(models.Model):
    """The documents a reminder rule's step is due for (invoices, prepaid
    services, blocked customers), each found with one search per step;
    ``_run`` (customer_message_rule.py) sends to them."""

    _inherit = "customer.message.rule"

    def _get_trigger_setup(self):
        """(model, date field, path from the document to its customer, domain
        of the documents the rule may remind) for the rule's trigger."""
        self.ensure_one()
        if self.trigger in INVOICE_TRIGGERS:
            return (
                "account.move",
                "invoice_date_due",
                "commercial_partner_id",
                Domain("move_type", "=", "out_invoice")
                & Domain("state", "=", "posted")
                & Domain("payment_state", "in", ("not_paid", "partial"))
                & Domain("company_id", "=", self.company_id.id),
            )
        if self.trigger == "service_expiry":
            return (
                "customer.service",
                "end_date",
                "partner_id",
                Domain("status", "=", "active")
                & Domain("partner_id.billing_type", "=", "prepaid")
                & Domain("company_id", "=", self.company_id.id),
            )
        return (
            "res.partner",
            "customer_status_date",
            "",
            Domain("customer_status", "=", "blocked")
            & Domain("company_id", "in", (False, self.company_id.id)),
        )

    def _get_customer_domain(self, path, today):
        """The documents' customers the rule sends to: the resellers' customers
        (if any), else every customer but those of resellers with a rule of
        their own (same trigger and company); for payment reminders, not the
        paused ones."""
        self.ensure_one()
        prefix = f"{path}." if path else ""
        domain = Domain.TRUE
        if self.reseller_ids:
            domain &= Domain(f"{prefix}reseller_id", "in", self.reseller_ids.ids)
        else:
            own = self.search(
                [
                    ("trigger", "=", self.trigger),
                    ("company_id", "=", self.company_id.id),
                    ("reseller_ids", "!=", False),
                ]
            ).reseller_ids
            if own:
                domain &= Domain(f"{prefix}reseller_id", "=", False) | Domain(
                    f"{prefix}reseller_id", "not in", own.ids
                )
        if self.trigger in INVOICE_TRIGGERS:
            domain &= Domain(f"{prefix}customer_reminder_pause", "=", False) | Domain(
                f"{prefix}customer_reminder_pause", "<", today
            )
        return domain

    def _get_due_documents(self, step, next_step, today):
        """The documents for which ``step`` is the latest step due on
        ``today`` and which did not get it yet: their date is at most today
        minus the step's offset, and after today minus the next step's (that
        one is due otherwise: the earlier steps are left out, never two
        reminders at once); at most catch_up_days late, except for dunning.
        One search per step, never a loop over all customers."""
        self.ensure_one()
        model, date_field, path, domain = self._get_trigger_setup()
        domain &= self._get_customer_domain(path, today)
        latest = today - timedelta(days=step.offset_days)
        domain &= Domain(date_field, "<=", latest)
        if next_step:
            domain &= Domain(
                date_field, ">", today - timedelta(days=next_step.offset_days)
            )
        if self.trigger != "dunning":
            domain &= Domain(
                date_field, ">=", latest - timedelta(days=self.catch_up_days)
            )
        documents = self.env[model].search(domain, order="id")
        if not documents:
            return documents
        logged = {
            (log.res_id, log.document_date)
            for log in self.env["customer.message.rule.log"].search(
                [
                    ("step_id", "=", step.id),
                    ("res_model", "=", model),
                    ("res_id", "in", documents.ids),
                ]
            )
        }
        return documents.filtered(
            lambda document: (document.id, document[date_field]) not in logged
        )
