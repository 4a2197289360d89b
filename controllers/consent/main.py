import json

from werkzeug.exceptions import Forbidden

from odoo import http
from odoo.exceptions import ValidationError
from odoo.http import request
from odoo.tools import consteq

from odoo.addons.portal.controllers.portal import CustomerPortal

from ...models.consent.customer_message_category import PREFERENCE_CHANNELS
from ...models.consent.res_config_settings import INBOUND_TOKEN_PARAM


class CustomerMessagesConsent(CustomerPortal):
    """What customers agree to receive: their preferences page in the portal
    (/my/message-preferences), the one-click unsubscribe link of marketing
    emails, and the SMS provider's inbound webhook (STOP / START)."""

    # ------------------------------------------------------------------
    # PREFERENCES PAGE
    # ------------------------------------------------------------------

    def _customer_message_preference_rows(self, partner):
        """The categories with, per channel, whether the contact receives
        them and whether the choice is locked."""
        categories = request.env["customer.message.category"].search([])
        opted_out = {
            (preference.category_id.id, preference.channel)
            for preference in request.env["customer.message.preference"].search(
                [("partner_id", "=", partner.id), ("opted_out", "=", True)]
            )
        }
        return [
            {
                "category": category,
                "cells": [
                    {
                        "channel": channel,
                        "label": label,
                        "key": f"{category.id}-{channel}",
                        "receives": (category.id, channel) not in opted_out,
                        "locked": not category.allow_opt_out,
                    }
                    for channel, label in PREFERENCE_CHANNELS
                ],
            }
            for category in categories
        ]

    @http.route(
        ["/my/message-preferences"],
        type="http",
        auth="user",
        website=True,
        methods=["GET", "POST"],
    )
    def portal_my_message_preferences(self, **post):
        """The contact logged in chooses, per category and channel, what it
        receives. The records are read and written as the user: the portal
        record rule keeps them to the user's own contact. A choice to turn
        off a locked category (billing, legal) is refused."""
        partner = request.env.user.partner_id
        saved = False
        if request.httprequest.method == "POST":
            self._customer_message_save_preferences(partner)
            saved = True
        values = self._prepare_portal_layout_values()
        values.update(
            {
                "page_name": "customer_message_preferences",
                "rows": self._customer_message_preference_rows(partner),
                "channels": PREFERENCE_CHANNELS,
                "saved": saved,
            }
        )
        return request.render(
            "customer_messages.portal_my_customer_message_preferences", values
        )

    def _customer_message_save_preferences(self, partner):
        """The form lists the choices it shows (``shown``, "category-channel")
        and the ones ticked (``receives``): shown and not ticked is turned
        off. Unknown keys are ignored; turning a locked category off is
        refused (403)."""
        form = request.httprequest.form
        shown = set(form.getlist("shown"))
        receives = set(form.getlist("receives"))
        categories = request.env["customer.message.category"].search([])
        by_id = {str(category.id): category for category in categories}
        channels = dict(PREFERENCE_CHANNELS)
        choices = {}
        for key in shown:
            category_id, _sep, channel = key.partition("-")
            if category_id in by_id and channel in channels:
                choices[by_id[category_id], channel] = key not in receives
        for (category, _channel), opted_out in choices.items():
            if opted_out and not category.allow_opt_out:
                raise Forbidden(
                    request.env._(
                        "%(category)s messages cannot be turned off.",
                        category=category.name,
                    )
                )
        try:
            for (category, channel), opted_out in choices.items():
                category._set_opt_out(partner, [channel], opted_out=opted_out)
        except ValidationError as error:
            raise Forbidden(str(error)) from error

    # ------------------------------------------------------------------
    # ONE-CLICK UNSUBSCRIBE (RFC 8058)
    # ------------------------------------------------------------------

    def _customer_message_unsubscribe_check(self, partner_id, category_id, token):
        """The customer and category of a signed unsubscribe link, sudoed,
        or a 404 for a wrong link."""
        if not all(0 < value < 2**31 for value in (partner_id, category_id)):
            # not an id (PostgreSQL would refuse to look it up)
            raise request.not_found()
        # sudo: the visitor is anonymous; the link's signature is checked
        # before anything is read or written
        category_sudo = (
            request.env["customer.message.category"].sudo().browse(category_id).exists()
        )
        partner_sudo = request.env["res.partner"].sudo().browse(partner_id).exists()
        if (
            not category_sudo
            or not partner_sudo
            or not category_sudo.one_click_unsubscribe
            or not category_sudo._check_unsubscribe_token(partner_id, token)
        ):
            raise request.not_found()
        return partner_sudo, category_sudo

    @http.route(
        ["/customer_messages/unsubscribe/<int:partner_id>/<int:category_id>/<token>"],
        type="http",
        auth="public",
        website=True,
        methods=["GET", "POST"],
        # the one-click POST comes from the customer's mail provider, which
        # has no session (RFC 8058); the link's signature is its proof
        csrf=False,
    )
    def customer_message_unsubscribe(self, partner_id, category_id, token, **post):
        """GET: a page asking to confirm (link scanners follow links, they
        must not unsubscribe anyone); POST (the mail client's one-click, or
        the page's button): the customer is opted out of the category by
        email."""
        partner_sudo, category_sudo = self._customer_message_unsubscribe_check(
            partner_id, category_id, token
        )
        done = request.httprequest.method == "POST"
        if done:
            category_sudo._set_opt_out(partner_sudo, ["email"], source="unsubscribe")
        return request.render(
            "customer_messages.customer_message_unsubscribe_page",
            {
                "partner_sudo": partner_sudo,
                "category_sudo": category_sudo,
                "done": done,
                "action_url": request.httprequest.path,
            },
        )

    # ------------------------------------------------------------------
    # SMS PROVIDER WEBHOOK: STOP / START
    # ------------------------------------------------------------------

    @http.route(
        ["/customer_messages/sms/inbound"],
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def customer_message_sms_inbound(self, **post):
        """An SMS a customer sent to the provider's number, posted by the
        provider: JSON ``{"number": "+32470123456", "text": "STOP", "token":
        "..."}`` or the same as form fields (``from`` and ``body`` are
        accepted for ``number`` and ``text``); the token may also come as the
        ``X-Customer-Messages-Token`` header. The token is the system
        parameter customer_messages.sms_inbound_token, made in Settings >
        Messages (models/consent/res_config_settings.py): without it, the webhook
        is off (404).

        STOP adds the number to Odoo's phone blacklist, START removes it;
        any other text is a reply of the customer (see
        phone.blacklist._customer_message_inbound); the answer is JSON
        ``{"result": "blacklisted" | "removed" | "replied" | "kept" |
        "ignored"}``."""
        # sudo: the parameter is read to authenticate the provider
        expected = (
            request.env["ir.config_parameter"].sudo().get_param(INBOUND_TOKEN_PARAM)
        )
        if not expected:
            raise request.not_found()
        payload = dict(post)
        if request.httprequest.mimetype == "application/json":
            try:
                payload = json.loads(request.httprequest.get_data() or b"{}")
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                return request.make_json_response(
                    {"error": "The body is not a JSON object."}, status=400
                )
        token = payload.get("token") or request.httprequest.headers.get(
            "X-Customer-Messages-Token", ""
        )
        # compared as bytes: consteq refuses non-ASCII strings (a 500)
        if not consteq(str(token).encode(), expected.encode()):
            return request.make_json_response({"error": "Wrong token."}, status=403)
        number = payload.get("number") or payload.get("from")
        text = payload.get("text") or payload.get("body")
        if not isinstance(number, str) or not isinstance(text, str):
            return request.make_json_response(
                {"error": "number and text are required."}, status=400
            )
        # sudo: the provider is authenticated by the token above; only the
        # number it gives is added to or removed from the blacklist
        result = (
            request.env["phone.blacklist"]
            .sudo()
            ._customer_message_inbound(number, text)
        )
        return request.make_json_response({"result": result})
