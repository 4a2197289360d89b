from odoo import models, tools
from odoo.fields import Domain


class PrivacyLookupWizard(models.TransientModel):
    _inherit = "privacy.lookup.wizard"

    def _get_privacy_partners(self):
        """The contacts the lookup is about: those the lookup itself finds
        (the address, or the name, of the request), archived ones included."""
        self.ensure_one()
        domain = Domain("name", "=ilike", self.name.strip())
        email = tools.email_normalize(self.email.strip())
        if email:
            domain |= Domain("email_normalized", "=", email)
        # sudo: as the lookup's own query, every company's contacts (the
        # lookup is for administrators only)
        return (
            self.env["res.partner"]
            .sudo()
            .with_context(active_test=False)
            .search(domain)
        )
