from collections import defaultdict

from odoo import api, fields, models


class CustomerMessage(models.Model):
    """Sending once per customer and trigger, for what may fire again (server
    actions, automation rules, scheduled actions, reminder rules): each
    customer's line carries a key (``customer.message.recipient``
    ``trigger_key``, unique), and a customer whose key is on a line already
    is left out."""

    _inherit = "customer.message"

    rule_id = fields.Many2one(
        "customer.message.rule",
        string="Reminder rule",
        ondelete="set null",
        index="btree_not_null",
        help="The reminder rule this message was sent by.",
    )

    @api.model
    def _get_trigger_keys(self, records, prefix, suffix="", label=None):
        """{customer id: key} one key per customer of the records:
        ``prefix:model:ids of the customer's records`` + ``suffix``.

        The customers are found as ``_send_to_customers`` finds them (the
        context key customer_messages_partner_field included).

        :param label: record -> str, what names a record in the key (its id
            by default; e.g. its id and a date, for a record that may trigger
            again on another date)
        """
        by_customer = defaultdict(list)
        for record in records.sorted("id"):
            by_customer[self._get_customers_of(record).id].append(
                label(record) if label else str(record.id)
            )
        return {
            partner_id: f"{prefix}:{records._name}:{','.join(labels)}" + suffix
            for partner_id, labels in by_customer.items()
        }

    @api.model
    def _get_untriggered(self, records, keys):
        """The records whose customer's key is on no line yet.

        :param dict keys: {customer id: key}, see ``_get_trigger_keys``
        """
        done = set(
            self.env["customer.message.recipient"]
            .sudo()  # sudo: the keys are unique across companies
            .search([("trigger_key", "in", list(keys.values()))])
            .mapped("trigger_key")
        )
        todo_customers = {
            partner_id for partner_id, key in keys.items() if key not in done
        }
        return records.filtered(
            lambda record: self._get_customers_of(record).id in todo_customers
        )
