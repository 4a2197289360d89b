from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools import format_amount


class CustomerMessage(models.Model):
    """The documents a message attaches for each customer (by the rules of
    customer.message.document.mixin, or picked), and their PDFs."""

    _inherit = "customer.message"

    @api.model
    def _check_picked_documents(self, documents):
        """Users send the documents they may read, and no others (the
        documents picked by a rule are each customer's own, see
        _get_documents).

        :param dict documents: {"invoice_ids" | "payment_ids": commands}
        """
        # sudo: reads the records the commands name, then checked as the user
        picked = self.sudo().new(documents)
        for fname in documents:
            records = picked[fname].with_env(self.env)
            if records and not records.has_access("read"):
                raise UserError(
                    self.env._(
                        "You may not send %(documents)s: only users who may read "
                        "them can attach them. Attach each customer's documents "
                        "by a rule instead (Invoices, Payment receipts...).",
                        documents=self._fields[fname].get_description(self.env)[
                            "string"
                        ],
                    )
                )

    def _attaches_documents(self):
        """Whether the message attaches documents to its emails (PDFs)."""
        self.ensure_one()
        policies = (self.invoice_policy, self.proforma_policy, self.payment_policy)
        # sudo: whether documents were picked, not what they are
        return bool(
            self.sudo().invoice_ids
            or self.sudo().payment_ids
            or any(policy != "none" for policy in policies)
        )

    def _get_documents(self, partners):
        """{partner: (posted invoices, draft invoices, payments)} the documents
        this message sends to each customer, in one query per type."""
        self.ensure_one()
        # sudo: each customer gets its own documents, picked by the rules of
        # the message; staff sending them need not read the accounting.
        Move = self.env["account.move"].sudo()
        Payment = self.env["account.payment"].sudo()
        by_commercial = defaultdict(lambda: self.env["res.partner"])
        for partner in partners:
            by_commercial[partner.commercial_partner_id.id] |= partner
        commercial_ids = list(by_commercial)
        documents = {partner: [Move, Move, Payment] for partner in partners}

        def assign(records, index):
            for record in records:
                for partner in by_commercial.get(
                    record.partner_id.commercial_partner_id.id, ()
                ):
                    documents[partner][index] |= record

        # picked documents (_origin: the documents themselves, not their
        # copies in a message being previewed, which a rule may pick again)
        picked = self.sudo().invoice_ids._origin.filtered(
            lambda move: move.partner_id.commercial_partner_id.id in by_commercial
        )
        assign(picked.filtered(lambda move: move.state == "posted"), 0)
        assign(picked.filtered(lambda move: move.state == "draft"), 1)
        assign(
            self.sudo().payment_ids._origin.filtered(
                lambda p: p.partner_id.commercial_partner_id.id in by_commercial
            ),
            2,
        )

        # documents by rule
        base = Domain("commercial_partner_id", "in", commercial_ids) & Domain(
            "company_id", "=", self.company_id.id
        )
        invoices = Domain("move_type", "=", "out_invoice")
        for policy, state, index in (
            (self.invoice_policy, "posted", 0),
            (self.proforma_policy, "draft", 1),
        ):
            if policy == "none":
                continue
            domain = base & invoices & Domain("state", "=", state)
            if policy in ("unpaid", "last_unpaid") and state == "posted":
                domain &= Domain("payment_state", "in", ("not_paid", "partial"))
            domain &= self._get_date_domain(
                policy, "invoice_date" if state == "posted" else "date"
            )
            moves = Move.search(domain, order="invoice_date desc, date desc, id desc")
            assign(self._keep_last(moves, policy), index)
        if self.payment_policy != "none":
            domain = (
                Domain("partner_id.commercial_partner_id", "in", commercial_ids)
                & Domain("company_id", "=", self.company_id.id)
                & Domain("payment_type", "=", "inbound")
                & Domain("state", "in", ("in_process", "paid"))
                & self._get_date_domain(self.payment_policy, "date")
            )
            payments = Payment.search(domain, order="date desc, id desc")
            assign(self._keep_last(payments, self.payment_policy), 2)
        return documents

    def _get_date_domain(self, policy, fname):
        if policy != "range":
            return Domain.TRUE
        domain = Domain.TRUE
        if self.document_date_from:
            domain &= Domain(fname, ">=", self.document_date_from)
        if self.document_date_to:
            domain &= Domain(fname, "<=", self.document_date_to)
        return domain

    @api.model
    def _keep_last(self, records, policy):
        """With the "last one" rules ("Last one", "Last unpaid one"), the
        newest record of each customer (the records come newest first)."""
        if policy not in ("last", "last_unpaid"):
            return records
        seen = set()
        kept = records.browse()
        for record in records:
            key = record.partner_id.commercial_partner_id.id
            if key not in seen:
                seen.add(key)
                kept |= record
        return kept

    def _get_document_attachments(self, documents):
        """{partner: ir.attachment} the PDFs of each customer's documents.

        Each document is rendered once, one per wkhtmltopdf call: posted
        invoices keep their PDF as Odoo does when it sends them, payment
        receipts are kept on the payment; pro-formas are rendered for this
        message.
        """
        posted = drafts = self.env["account.move"]
        payments = self.env["account.payment"]
        for partner_posted, partner_drafts, partner_payments in documents.values():
            posted |= partner_posted
            drafts |= partner_drafts
            payments |= partner_payments
        pdfs = {
            **self._get_invoice_pdfs(posted),
            **self._get_proforma_pdfs(drafts),
            **self._get_payment_pdfs(payments),
        }
        return {
            partner: self.env["ir.attachment"].union(
                *(pdfs[record] for records in partner_documents for record in records)
            )
            for partner, partner_documents in documents.items()
        }

    @api.model
    def _render_pdf(self, report_ref, record):
        report = self.env["ir.actions.report"].with_context(
            force_report_rendering=True, customer_messages_document=True
        )
        content, _report_type = report._render_qweb_pdf(report_ref, res_ids=record.ids)
        return content

    @api.model
    def _get_invoice_pdfs(self, invoices):
        """{invoice: its PDF}, rendered and kept on the invoice when missing."""
        # sudo: the PDF is the invoice's legal document, stored the way Odoo
        # stores it when sending the invoice; readers are checked on the
        # message and its recipients, not on the attachment.
        invoices_sudo = invoices.sudo()
        missing = invoices_sudo.filtered(
            lambda invoice: not invoice.invoice_pdf_report_id
        )
        if missing:
            report = self.env.ref("account.account_invoices")
            self.env["ir.attachment"].sudo().create(
                [
                    {
                        "name": invoice._get_invoice_report_filename(report=report),
                        "raw": self._render_pdf("account.account_invoices", invoice),
                        "mimetype": "application/pdf",
                        "res_model": "account.move",
                        "res_id": invoice.id,
                        "res_field": "invoice_pdf_report_file",
                    }
                    for invoice in missing
                ]
            )
            missing.invalidate_recordset(
                ["invoice_pdf_report_id", "invoice_pdf_report_file"]
            )
        return {
            invoice: invoice_sudo.invoice_pdf_report_id
            for invoice, invoice_sudo in zip(invoices, invoices_sudo, strict=True)
        }

    @api.model
    def _get_payment_pdfs(self, payments):
        """{payment: its receipt PDF}, rendered and kept on the payment when
        missing (found again by the description marker)."""
        if not payments:
            return {}
        # sudo: receipts are kept on their payment, served with the message
        Attachment = self.env["ir.attachment"].sudo()
        kept = {
            attachment.res_id: attachment
            for attachment in Attachment.search(
                [
                    ("res_model", "=", "account.payment"),
                    ("res_id", "in", payments.ids),
                    ("description", "=", "customer_messages_receipt"),
                ]
            )
        }
        missing = payments.filtered(lambda payment: payment.id not in kept)
        if missing:
            created = Attachment.create(
                [
                    {
                        "name": self.env._(
                            "Payment Receipt - %(name)s.pdf",
                            name=payment.name.replace("/", "_"),
                        ),
                        "raw": self._render_pdf(
                            "account.action_report_payment_receipt", payment.sudo()
                        ),
                        "mimetype": "application/pdf",
                        "res_model": "account.payment",
                        "res_id": payment.id,
                        "description": "customer_messages_receipt",
                    }
                    for payment in missing
                ]
            )
            kept.update({attachment.res_id: attachment for attachment in created})
        return {payment: kept[payment.id] for payment in payments}

    @api.model
    def _get_proforma_number(self, draft):
        """How a pro-forma is named, for the customer and staff alike (its
        PDF, the composer's list of documents, the report's file name): its
        number, or for a draft without one its date and amount,
        "2026-12-08 (42.00 €)" (never its database id)."""
        if draft.name and draft.name != "/":
            return draft.name
        return self.env._(
            "%(date)s (%(amount)s)",
            date=fields.Date.to_string(
                draft.invoice_date or fields.Date.context_today(draft)
            ),
            amount=format_amount(self.env, draft.amount_total, draft.currency_id),
        )

    def _get_proforma_pdfs(self, drafts):
        """{draft invoice: its pro-forma PDF}, rendered for this message."""
        # sudo: generated for this message, served with it
        created = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                [
                    {
                        "name": self.env._(
                            "Pro-forma invoice %(number)s.pdf",
                            number=self._get_proforma_number(draft),
                        ),
                        "raw": self._render_pdf(
                            "customer_messages.action_report_proforma_invoice",
                            draft.sudo(),
                        ),
                        "mimetype": "application/pdf",
                        "res_model": "customer.message",
                        "res_id": self.id,
                    }
                    for draft in drafts
                ]
            )
        )
        return dict(zip(drafts, created, strict=True))
