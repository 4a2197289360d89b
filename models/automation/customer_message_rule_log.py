from odoo import fields, models


class CustomerMessageRuleLog(models.Model):
    """A document reminded by a step of a reminder rule: written by the
    system when the step's message is sent, read by staff. Its unique index
    makes each document get each step once (per date of the document)."""

    _name = "customer.message.rule.log"
    _description = "Reminder sent"
    _order = "id desc"

    rule_id = fields.Many2one(
        "customer.message.rule",
        string="Reminder rule",
        required=True,
        index=True,
        ondelete="cascade",
    )
    step_id = fields.Many2one(
        "customer.message.rule.step",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="rule_id.company_id", store=True, index=True)
    message_id = fields.Many2one("customer.message", index=True, ondelete="set null")
    # set null: the log outlives its customer (deleted or erased), so that
    # the document is not reminded again
    partner_id = fields.Many2one(
        "res.partner", string="Customer", index=True, ondelete="set null"
    )
    res_model = fields.Char(string="Document model", required=True)
    res_id = fields.Many2oneReference(
        string="Document ID", model_field="res_model", required=True
    )
    document_name = fields.Char(string="Document")
    document_date = fields.Date(
        string="Date of the document",
        help="The due date, end date or status date the step was counted from.",
    )

    _step_document_uniq = models.UniqueIndex(
        "(step_id, res_model, res_id, COALESCE(document_date, '1970-01-01'))",
        "This document already got this reminder.",
    )

    def _pseudonymize_personal_data(self, partners=None):
        """Privacy erasure (Odoo's privacy lookup, see
        models/privacy/privacy_lookup_wizard_line.py): the log is kept, so that its
        document is not reminded again, without its customer. The document
        and its name are the company's records (an invoice number).

        :param partners: the persons whose data is erased; None: all
        """
        self.filtered(
            lambda log: partners is None or log.partner_id in partners
        ).partner_id = False
