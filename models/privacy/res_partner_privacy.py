from odoo import models

from odoo.addons.base.models.ir_model import MODULE_UNINSTALL_FLAG


class ResPartner(models.Model):
    _inherit = "res.partner"

    def unlink(self):
        # A deleted customer leaves its lines in the history, erased (their
        # customer link would go anyway, see customer.message.recipient):
        # the counts stay right, nothing of the customer stays behind. Not
        # when this module's own demo customers go with the module.
        if not self.env.context.get(MODULE_UNINSTALL_FLAG):
            # sudo: the history is written by the system only; whoever may
            # delete the customer erases its data from it
            lines = (
                self.env["customer.message.recipient"]
                .sudo()
                .search([("partner_id", "in", self.ids)])
            )
            lines._pseudonymize_personal_data(self)
        return super().unlink()
