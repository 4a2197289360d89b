from urllib.parse import urlencode

from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.fields import Domain
from odoo.http import request

from odoo.addons.portal.controllers.portal import CustomerPortal
from odoo.addons.portal.controllers.portal import pager as portal_pager

RECIPIENT_MODEL = "customer.message.recipient"
SESSION_HISTORY = "my_customer_messages_history"


class CustomerMessagesPortal(CustomerPortal):
    """The customers' messages in the portal: /my/messages and one page per
    message (the customer's recipient line), with its files."""

    def _prepare_home_portal_values(self, counters):
        values = super()._prepare_home_portal_values(counters)
        wanted = {"customer_message_count", "customer_message_unread_count"} & set(
            counters
        )
        if wanted:
            Recipient = request.env[RECIPIENT_MODEL]
            can_read = Recipient.has_access("read")
            domain = self._customer_message_get_domain()
            if "customer_message_count" in counters:
                values["customer_message_count"] = (
                    Recipient.search_count(domain) if can_read else 0
                )
            if "customer_message_unread_count" in counters:
                values["customer_message_unread_count"] = (
                    Recipient.search_count(domain & Domain("read_date", "=", False))
                    if can_read
                    else 0
                )
        return values

    # ------------------------------------------------------------------
    # HELPERS
    # ------------------------------------------------------------------

    def _customer_message_get_domain(self):
        """The messages of the customer logged in: the record rules decide
        what a user may read, this domain what /my/messages lists (internal
        users too see only the messages sent to their own company)."""
        commercial_partner = request.env.user.partner_id.commercial_partner_id
        return request.env[RECIPIENT_MODEL]._get_portal_domain() & Domain(
            "partner_id", "child_of", commercial_partner.id
        )

    def _customer_message_get_searchbar_sortings(self):
        return {
            "date": {
                "label": request.env._("Newest"),
                "order": "message_date desc, id desc",
            },
            "subject": {
                "label": request.env._("Subject"),
                "order": "subject asc, id desc",
            },
        }

    def _customer_message_get_searchbar_inputs(self):
        return {
            "subject": {"input": "subject", "label": request.env._("Search in Subject")}
        }

    def _customer_message_check_access(self, recipient_id, access_token=None):
        """The recipient line a visitor may see, sudoed, or None.

        Logged-in customers read their lines through the record rules; the
        holder of a line's access token reads that line only. Lines that are
        not published in the portal are hidden from both."""
        if isinstance(access_token, str) and not access_token.isascii():
            # no token is made of such characters, and Odoo's check
            # (consteq) would fail on them with a TypeError (a 500)
            access_token = None
        try:
            recipient_sudo = self._document_check_access(
                RECIPIENT_MODEL, recipient_id, access_token
            )
        except (AccessError, MissingError):
            return None
        if not recipient_sudo._is_published_in_portal():
            return None
        if recipient_sudo.message_id.is_test and not access_token:
            return None
        return recipient_sudo

    def _customer_message_counts_read(self, recipient_sudo, logged_in=False):
        """Whether the visitor's view of the line counts as the customer's
        reading: never staff's, nor a test message's; with ``logged_in``,
        only a portal user reading a line of his own (the record rules, not
        the link's token), as the GET of the page may be a link scanner's."""
        user = request.env.user
        if user._is_internal() or recipient_sudo.message_id.is_test:
            return False
        if not logged_in:
            return True
        return not user._is_public() and (
            request.env[RECIPIENT_MODEL].browse(recipient_sudo.id).has_access("read")
        )

    def _customer_message_refuse(self, not_found=False):
        """Visitors are sent to the login page, customers to their home (or
        get a 404 for a file), without a word about the document."""
        if request.env.user._is_public():
            return request.redirect(
                "/web/login?" + urlencode({"redirect": request.httprequest.path})
            )
        if not_found:
            raise request.not_found()
        return request.redirect("/my")

    def _customer_message_attachment_url(
        self, recipient_sudo, attachment, access_token=None
    ):
        url = f"{recipient_sudo.access_url}/attachment/{attachment.id}"
        if access_token:
            url += "?" + urlencode({"access_token": access_token})
        return url

    # ------------------------------------------------------------------
    # ROUTES
    # ------------------------------------------------------------------

    @http.route(
        ["/my/messages", "/my/messages/page/<int:page>"],
        type="http",
        auth="user",
        website=True,
        readonly=True,
    )
    def portal_my_customer_messages(
        self, page=1, sortby=None, search=None, search_in="subject", **kw
    ):
        Recipient = request.env[RECIPIENT_MODEL]
        values = self._prepare_portal_layout_values()
        searchbar_sortings = self._customer_message_get_searchbar_sortings()
        if sortby not in searchbar_sortings:
            sortby = "date"
        searchbar_inputs = self._customer_message_get_searchbar_inputs()
        if search_in not in searchbar_inputs:
            search_in = "subject"

        domain = self._customer_message_get_domain()
        if search:
            domain &= Domain(searchbar_inputs[search_in]["input"], "ilike", search)
        can_read = Recipient.has_access("read")
        total = Recipient.search_count(domain) if can_read else 0
        pager = portal_pager(
            url="/my/messages",
            url_args={"sortby": sortby, "search_in": search_in, "search": search},
            total=total,
            page=page,
            step=self._items_per_page,
        )
        recipients = (
            Recipient.search(
                domain,
                order=searchbar_sortings[sortby]["order"],
                limit=self._items_per_page,
                offset=pager["offset"],
            )
            if can_read
            else Recipient
        )
        request.session[SESSION_HISTORY] = recipients.ids[:100]
        # sudo: these lines came from the customer's own search, under the
        # record rules; only the number of their files is read.
        attachment_counts = {
            recipient.id: len(recipient._get_portal_attachments())
            for recipient in recipients.sudo()
        }
        values.update(
            {
                "recipients": recipients,
                "attachment_counts": attachment_counts,
                "page_name": "customer_message",
                "pager": pager,
                "default_url": "/my/messages",
                "searchbar_sortings": searchbar_sortings,
                "sortby": sortby,
                "searchbar_inputs": searchbar_inputs,
                "search_in": search_in,
                "search": search,
            }
        )
        return request.render("customer_messages.portal_my_customer_messages", values)

    @http.route(
        ["/my/messages/<int:recipient_id>"], type="http", auth="public", website=True
    )
    def portal_my_customer_message(self, recipient_id, access_token=None, **kw):
        recipient_sudo = self._customer_message_check_access(recipient_id, access_token)
        if not recipient_sudo:
            return self._customer_message_refuse()
        # only the customer's own logged-in view counts as read here; the
        # holder of the email's link (or a mail provider's link scanner
        # following it) is counted by the page's POST to /read, see below
        if self._customer_message_counts_read(recipient_sudo, logged_in=True):
            recipient_sudo._mark_read()
        attachments = [
            {
                "attachment": attachment,
                "url": self._customer_message_attachment_url(
                    recipient_sudo, attachment, access_token
                ),
            }
            for attachment in recipient_sudo._get_portal_attachments()
        ]
        values = {
            "page_name": "customer_message",
            "recipient_sudo": recipient_sudo,
            "attachments": attachments,
            "record_read": not recipient_sudo.read_date
            and self._customer_message_counts_read(recipient_sudo),
        }
        values = self._get_page_view_values(
            recipient_sudo, access_token, values, SESSION_HISTORY, False, **kw
        )
        return request.render("customer_messages.portal_my_customer_message", values)

    @http.route(
        ["/my/messages/<int:recipient_id>/read"],
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_my_customer_message_read(self, recipient_id, access_token=None, **kw):
        """The page, once shown in a browser, posts here (with the form's
        CSRF token) to say it was seen: a link scanner that only fetches the
        email's link does not. Answers ``{"read": true}`` when counted."""
        recipient_sudo = self._customer_message_check_access(recipient_id, access_token)
        if not recipient_sudo:
            raise request.not_found()
        counted = self._customer_message_counts_read(recipient_sudo)
        if counted:
            recipient_sudo._mark_read()
        return request.make_json_response({"read": counted})

    @http.route(
        ["/my/messages/<int:recipient_id>/acknowledge"],
        type="http",
        auth="public",
        methods=["POST"],
        website=True,
    )
    def portal_my_customer_message_acknowledge(
        self, recipient_id, access_token=None, **kw
    ):
        """The customer's I acknowledge: kept on the line with the date and
        the portal user (none for the holder of the email's link)."""
        recipient_sudo = self._customer_message_check_access(recipient_id, access_token)
        if not recipient_sudo or recipient_sudo.message_id.is_test:
            return self._customer_message_refuse()
        user = request.env.user
        if user._is_internal():
            # staff reading a customer's page do not acknowledge for them
            raise request.not_found()
        recipient_sudo._acknowledge(user.browse() if user._is_public() else user)
        url = recipient_sudo.access_url
        if access_token:
            url += "?" + urlencode({"access_token": access_token})
        return request.redirect(url)

    @http.route(
        ["/my/messages/<int:recipient_id>/attachment/<int:attachment_id>"],
        type="http",
        auth="public",
        website=True,
        readonly=True,
    )
    def portal_my_customer_message_attachment(
        self, recipient_id, attachment_id, access_token=None, **kw
    ):
        recipient_sudo = self._customer_message_check_access(recipient_id, access_token)
        if not recipient_sudo:
            return self._customer_message_refuse(not_found=True)
        # only a file of this very message, checked above, is served
        attachment_sudo = recipient_sudo._get_portal_attachments().filtered(
            lambda attachment: attachment.id == attachment_id
        )
        if not attachment_sudo:
            raise request.not_found()
        stream = request.env["ir.binary"]._get_stream_from(attachment_sudo)
        return stream.get_response(as_attachment=True)
