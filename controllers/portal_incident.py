from odoo.http import request

from .portal import CustomerMessagesPortal


class CustomerIncidentPortal(CustomerMessagesPortal):
    """The banner of open outages and maintenance, on the portal home and
    the customer's message pages (see customer.incident
    _get_portal_incidents)."""

    def _customer_incident_get_values(self):
        user = request.env.user
        if user._is_public():
            return {}
        return {
            "customer_incidents_sudo": request.env[
                "customer.incident"
            ]._get_portal_incidents(user.partner_id)
        }

    def _prepare_portal_layout_values(self):
        values = super()._prepare_portal_layout_values()
        values.update(self._customer_incident_get_values())
        return values

    def _get_page_view_values(
        self, document, access_token, values, session_history, no_breadcrumbs, **kwargs
    ):
        values = super()._get_page_view_values(
            document, access_token, values, session_history, no_breadcrumbs, **kwargs
        )
        if document._name == "customer.message.recipient":
            values.update(self._customer_incident_get_values())
        return values
