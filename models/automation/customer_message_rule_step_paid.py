from odoo import fields, models
from odoo.tools import SQL

PAID_STATES = ("paid", "in_payment")


class CustomerMessageRuleStep(models.Model):
    """The dunning report: how many invoices were paid after each step."""

    _inherit = "customer.message.rule.step"

    paid_count = fields.Integer(
        string="Paid after it",
        compute="_compute_paid_count",
        help="Invoices paid (or being paid) whose last reminder was this step.",
    )

    def _compute_paid_count(self):
        counts = {}
        step_ids = [step_id for step_id in self._ids if isinstance(step_id, int)]
        if step_ids:
            self.env.flush_all()
            # sql: the last step each invoice got (its latest offset), and
            # whether it is paid now, for all the invoices of the rules at once
            counts = dict(
                self.env.execute_query(
                    SQL(
                        """SELECT last.step_id, count(*)
                             FROM (SELECT DISTINCT ON (log.res_id)
                                          log.res_id, log.step_id
                                     FROM customer_message_rule_log AS log
                                     JOIN customer_message_rule_step AS step
                                       ON step.id = log.step_id
                                    WHERE log.res_model = 'account.move'
                                      AND log.rule_id IN (
                                          SELECT rule_id FROM customer_message_rule_step
                                           WHERE id = ANY(%s))
                                 ORDER BY log.res_id, step.offset_days DESC, log.id DESC
                                  ) AS last
                             JOIN account_move AS move ON move.id = last.res_id
                            WHERE move.payment_state IN %s
                              AND last.step_id = ANY(%s)
                         GROUP BY last.step_id""",
                        step_ids,
                        PAID_STATES,
                        step_ids,
                    )
                )
            )
        for step in self:
            step.paid_count = counts.get(step.id, 0)
