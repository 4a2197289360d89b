import time

from odoo import http
from odoo.http import request

# The anonymous page, rendered once per database and language for this long:
# an outage's traffic spike reads it from memory, not from the database.
CACHE_SECONDS = 30
_cache = {}


class CustomerIncidentStatus(http.Controller):
    @http.route(
        ["/status"],
        type="http",
        auth="public",
        methods=["GET"],
        website=True,
        sitemap=False,
        readonly=True,
        save_session=False,
    )
    def customer_incident_status(self, **kw):
        """The public status page: the open outages and maintenance by
        location (public fields only, see customer.incident
        _get_status_page_incidents). Anonymous visitors get a copy cached
        for CACHE_SECONDS; a logged-in customer sees theirs first and may
        follow an incident."""
        user = request.env.user
        if user._is_public():
            key = (request.db, request.env.lang)
            cached = _cache.get(key)
            if not cached or cached[0] < time.monotonic():
                html = request.render(
                    "customer_messages.status_page",
                    self._customer_status_values(),
                    lazy=False,
                )
                cached = _cache[key] = (time.monotonic() + CACHE_SECONDS, html)
            return request.make_response(
                cached[1],
                headers=[
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Cache-Control", f"public, max-age={CACHE_SECONDS}"),
                ],
            )
        response = request.render(
            "customer_messages.status_page",
            self._customer_status_values(user.partner_id),
        )
        response.headers["Cache-Control"] = "private, no-store"
        return response

    def _customer_status_values(self, partner=None):
        Incident = request.env["customer.incident"]
        incidents = Incident._get_status_page_incidents()
        mine = followed = Incident.browse()
        if partner:
            mine = incidents & Incident._get_portal_incidents(partner)
            followed = incidents.filtered(
                lambda incident: partner in incident.status_follower_ids
            )
        by_location = {}
        for incident in incidents - mine:
            for name in incident.location_ids.mapped("name") or [None]:
                by_location.setdefault(name, []).append(incident)
        return {
            "incidents_sudo": incidents,
            "mine_sudo": mine,
            "followed_sudo": followed,
            "by_location_sudo": sorted(
                by_location.items(), key=lambda item: (item[0] is None, item[0] or "")
            ),
            "is_customer": bool(partner),
        }

    @http.route(
        ["/status/<int:incident_id>/follow"],
        type="http",
        auth="user",
        methods=["POST"],
        website=True,
        sitemap=False,
    )
    def customer_incident_status_follow(self, incident_id, follow="1", **kw):
        """A logged-in customer follows (follow=1) or stops following
        (follow=0) an incident of the status page (CSRF-protected form)."""
        incident = request.env["customer.incident"].browse(incident_id)
        incident._set_status_follower(request.env.user.partner_id, follow == "1")
        return request.redirect("/status")
