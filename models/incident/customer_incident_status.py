from odoo import api, fields, models

from .customer_incident import OPEN_STATES


class CustomerIncident(models.Model):
    """The public status page (``/status``, controllers/incident/status.py):
    the open incidents shown there, with their public fields only, and the
    customers who follow one from the page to get its updates."""

    _inherit = "customer.incident"

    status_page = fields.Boolean(
        string="On the status page",
        default=True,
        help="Shown on the public status page (/status) while it is announced "
        "or ongoing: its name, kind, locations, text for customers, latest "
        "update and times; never who is affected.",
    )
    status_follower_ids = fields.Many2many(
        "res.partner",
        "customer_incident_status_follower_rel",
        "incident_id",
        "partner_id",
        string="Followers on the status page",
        readonly=True,
        copy=False,
        help="Customers who asked for this incident's updates on the status "
        "page: its updates and resolved notice go to them too.",
    )

    @api.model
    def _get_status_page_incidents(self):
        """The incidents of the status page (sudoed): open, not hidden."""
        # sudo: the page is public; it shows the public fields only (see
        # the template customer_messages.status_page)
        return self.sudo().search(
            [("state", "in", OPEN_STATES), ("status_page", "=", True)],
            order="date_start desc, id desc",
        )

    def _get_notice_partners(self):
        # the notices after the first also go to the page's followers
        return super()._get_notice_partners() | self.status_follower_ids

    def _set_status_follower(self, partner, follow):
        """``partner`` follows (or stops following) these incidents, shown on
        the status page."""
        incidents = self & self._get_status_page_incidents()
        # sudo: the customer chooses for himself only (the controller passes
        # the logged-in user's contact); users never write followers
        if follow:
            incidents.sudo().status_follower_ids = [fields.Command.link(partner.id)]
        else:
            incidents.sudo().status_follower_ids = [fields.Command.unlink(partner.id)]
        return incidents
