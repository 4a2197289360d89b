from odoo import http
from odoo.http import request

from ..portal import CustomerMessagesPortal


class CustomerIncidentPortal(CustomerMessagesPortal):
    """The banner of open outages and maintenance (see customer.incident
    _get_portal_incidents), on the pages that show it only: the portal home,
    the customer's message list and message pages. Its values are computed
    for those pages alone: the other portal pages (account, invoices...)
    run no query of it."""

    def _customer_incident_get_values(self):
        user = request.env.user
        if user._is_public():
            return {}
        return {
            "customer_incidents_sudo": request.env[
                "customer.incident"
            ]._get_portal_incidents(user.partner_id)
        }

    def _customer_incident_add_banner(self, response):
        """The banner's values added to a page about to be rendered."""
        if getattr(response, "is_qweb", False):
            response.qcontext.update(self._customer_incident_get_values())
        return response

    @http.route()
    def home(self, **kw):
        return self._customer_incident_add_banner(super().home(**kw))

    @http.route()
    def portal_my_customer_messages(self, *args, **kw):
        return self._customer_incident_add_banner(
            super().portal_my_customer_messages(*args, **kw)
        )

    def _get_page_view_values(
        self, document, access_token, values, session_history, no_breadcrumbs, **kwargs
    ):
        values = super()._get_page_view_values(
            document, access_token, values, session_history, no_breadcrumbs, **kwargs
        )
        if document._name == "customer.message.recipient":
            values.update(self._customer_incident_get_values())
        return values
