from odoo import models


class PrivacyLookupWizardLine(models.TransientModel):
    _inherit = "privacy.lookup.wizard.line"

    def action_unlink(self):
        """Records of a history (customer messages' lines, reminders sent)
        are pseudonymised instead of deleted: the record stays, what ties it
        to the person goes. A model takes part by defining
        ``_pseudonymize_personal_data(partners)``."""
        self.ensure_one()
        if (
            self.is_unlinked
            or self.res_model not in self.env
            or not hasattr(self.env[self.res_model], "_pseudonymize_personal_data")
        ):
            return super().action_unlink()
        model = self.env[self.res_model]
        # sudo: a history is written by the system only (no group may edit
        # or delete it); the lookup is for administrators only
        record = model.sudo().browse(self.res_id).exists()
        record._pseudonymize_personal_data(self.wizard_id._get_privacy_partners())
        self.execution_details = self.env._(
            "Pseudonymised %(model)s #%(id)s",
            model=self.res_model_id.name,
            id=self.res_id,
        )
        self.is_unlinked = True
        return None
