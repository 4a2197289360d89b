from odoo import models


class MailThreadBlacklist(models.AbstractModel):
    _inherit = "mail.thread.blacklist"

    def _message_receive_bounce(self, email, partner):
        if self.env.context.get("customer_messages_sender_fault"):
            # the receiving server refused the sender (a 5.7.x delivery
            # report, see mail.thread._routing_handle_bounce): the address
            # is not at fault, its bounce count stays
            return None
        return super()._message_receive_bounce(email, partner)
