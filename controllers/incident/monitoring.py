import json

from odoo import http
from odoo.http import request
from odoo.tools import consteq

from ...models.incident.customer_incident_alert import parse_alerts


class CustomerIncidentMonitoring(http.Controller):
    @http.route(
        ["/customer_messages/monitoring/<int:monitor_id>"],
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def customer_incident_monitoring(self, monitor_id, token=None, **kw):
        """Alerts of a monitoring system (see customer.incident.monitor), as
        Prometheus Alertmanager's webhook JSON or the plain JSON form of
        ``parse_alerts``. The source's secret comes as the header
        ``Authorization: Bearer <token>``, the header
        ``X-Customer-Messages-Token`` or ``?token=``. The alerts are recorded
        only: the incidents are opened and resolved by the alerts' cron.
        Answers JSON ``{"results": ["held" | "duplicate" | ...]}``."""
        # sudo: the source is read to authenticate the caller by its secret
        monitor = (
            request.env["customer.incident.monitor"].sudo().browse(monitor_id).exists()
        )
        if not monitor or not monitor.active or not monitor.token:
            raise request.not_found()
        headers = request.httprequest.headers
        given = token or headers.get("X-Customer-Messages-Token", "")
        authorization = headers.get("Authorization", "")
        if authorization.lower().startswith("bearer "):
            given = authorization[7:].strip()
        # compared as bytes: consteq refuses non-ASCII strings (a 500)
        if not consteq(str(given).encode(), monitor.token.encode()):
            return request.make_json_response({"error": "Wrong token."}, status=403)
        try:
            alerts = parse_alerts(json.loads(request.httprequest.get_data() or b""))
        except ValueError as error:
            return request.make_json_response({"error": str(error)}, status=400)
        # sudo: the caller is authenticated as this source by its secret; the
        # alerts are only recorded, for the source's own company
        Alert = (
            request.env["customer.incident.alert"]
            .sudo()
            .with_company(monitor.company_id)
        )
        results = [Alert._receive(monitor, alert) for alert in alerts]
        return request.make_json_response({"results": results})
