import time
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError
from odoo.fields import Domain

# Settings (ir.config_parameter) of the circuit breaker of bulk categories:
# the complaint rate and the bounce rate (in %) above which their emails
# pause, over the last N days, once at least a minimum of emails was sent
BREAKER_COMPLAINT_RATE = ("customer_messages.breaker_complaint_rate", "0.3")
BREAKER_BOUNCE_RATE = ("customer_messages.breaker_bounce_rate", "4")
BREAKER_DAYS = ("customer_messages.breaker_days", "7")
BREAKER_MIN_VOLUME = ("customer_messages.breaker_min_volume", "500")
# Seconds a worker keeps a category's verdict before reading the rates again
BREAKER_CHECK_INTERVAL = 60
# Emails of a paused category are looked at again after this delay
BREAKER_HOLD_DELAY = timedelta(hours=1)
EMAIL_CHANNELS = ("email", "portal_email")
# Fields only the system writes (the gate pauses, Resume sending resumes)
BREAKER_FIELDS = {"is_paused", "pause_reason", "pause_date", "resume_date"}


def _check_breaker_fields(records, vals):
    if not records.env.su and BREAKER_FIELDS & set(vals):
        raise AccessError(
            records.env._(
                "The circuit breaker's pause is set by the system; a manager "
                "uses Resume sending on the category."
            )
        )


class CustomerMessageCategory(models.Model):
    """A circuit breaker per bulk category (one-click unsubscribe: the
    marketing stream): its emails pause by themselves when its complaint
    rate or its bounce rate over the last days passes the settings, until a
    manager resumes it. Categories that are not bulk (Billing, Service,
    Legal) are never paused, whatever the numbers of bulk mail. The pause
    is applied by the gate of delivery (customer.message.recipient.
    _recheck_exclusions), which every sending path goes through."""

    _inherit = "customer.message.category"

    complaint_count = fields.Integer(
        string="Complaints",
        compute="_compute_complaint_count",
        help="Complaints received from the mailbox providers' feedback loops "
        "about this category's emails.",
    )
    is_paused = fields.Boolean(
        string="Paused",
        readonly=True,
        copy=False,
        help="Its emails wait: its complaint or bounce rate passed the limit.",
    )
    pause_reason = fields.Char(readonly=True, copy=False)
    pause_date = fields.Datetime(string="Paused on", readonly=True, copy=False)
    resume_date = fields.Datetime(
        string="Resumed on",
        readonly=True,
        copy=False,
        help="The rates count the emails sent since then only.",
    )

    def _compute_complaint_count(self):
        # sudo: a count, whatever the company rules on the complaints
        counts = dict(
            self.env["customer.message.complaint"]
            .sudo()
            ._read_group(
                [("category_id", "in", self.ids)], ["category_id"], ["__count"]
            )
        )
        for category in self:
            category.complaint_count = counts.get(category, 0)

    def write(self, vals):
        _check_breaker_fields(self, vals)
        return super().write(vals)

    @api.model
    def _get_breaker_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        return {
            "complaint_rate": float(params.get_param(*BREAKER_COMPLAINT_RATE)),
            "bounce_rate": float(params.get_param(*BREAKER_BOUNCE_RATE)),
            "days": int(params.get_param(*BREAKER_DAYS)),
            "min_volume": int(params.get_param(*BREAKER_MIN_VOLUME)),
        }

    def _get_breaker_rates(self, settings):
        """(emails, bounces, complaints) of this category since the start
        of the window (the last days, or since it was resumed): emails are
        the lines done (sent or failed) on an email channel, bounces the
        hard bounces and sender refusals among them."""
        self.ensure_one()
        start = fields.Datetime.now() - timedelta(days=settings["days"])
        if self.resume_date and self.resume_date > start:
            start = self.resume_date
        # sudo: counts for the gate, whoever sends
        Recipient = self.env["customer.message.recipient"].sudo()
        done = (
            Domain("message_id.category_id", "=", self.id)
            & Domain("message_id.channel", "in", EMAIL_CHANNELS)
            & Domain("state", "in", ("sent", "error"))
            & Domain("done_date", ">=", start)
        )
        # one pass over the window's lines, counted per bounce kind
        counts = dict(Recipient._read_group(done, ["bounce_kind"], ["__count"]))
        emails = sum(counts.values())
        bounces = counts.get("hard", 0) + counts.get("sender", 0)
        complaints = (
            self.env["customer.message.complaint"]
            .sudo()
            .search_count([("category_id", "=", self.id), ("date", ">=", start)])
        )
        return emails, bounces, complaints

    def _check_breaker(self):
        """Whether this bulk category is paused: it was, or its rates pass
        the settings now (it is then paused, the managers told). Read at
        most once a minute per worker."""
        self.ensure_one()
        if not self.one_click_unsubscribe:
            return False  # not bulk mail: never paused by the breaker
        if self.is_paused:
            return True
        checked = self.env.cr.cache.setdefault("customer_messages_breaker", {})
        if time.monotonic() - checked.get(self.id, -BREAKER_CHECK_INTERVAL) < (
            BREAKER_CHECK_INTERVAL
        ):
            return False
        checked[self.id] = time.monotonic()
        settings = self._get_breaker_settings()
        emails, bounces, complaints = self._get_breaker_rates(settings)
        if emails < max(settings["min_volume"], 1):
            return False
        reason = None
        if complaints * 100.0 / emails > settings["complaint_rate"]:
            reason = self.env._(
                "Paused by the circuit breaker: the complaint rate of %(category)s "
                "is %(rate).2f %% (%(count)s complaints for %(emails)s emails over "
                "the last %(days)s days), above %(limit)s %%. Remove the customers "
                "who complain, check what they received, then resume the category.",
                category=self.name,
                rate=complaints * 100.0 / emails,
                count=complaints,
                emails=emails,
                days=settings["days"],
                limit=settings["complaint_rate"],
            )
        elif bounces * 100.0 / emails > settings["bounce_rate"]:
            reason = self.env._(
                "Paused by the circuit breaker: the bounce rate of %(category)s "
                "is %(rate).2f %% (%(count)s bounces for %(emails)s emails over the "
                "last %(days)s days), above %(limit)s %%. Clean the addresses that "
                "bounce, fix the sending domain if the sender was refused, then "
                "resume the category.",
                category=self.name,
                rate=bounces * 100.0 / emails,
                count=bounces,
                emails=emails,
                days=settings["days"],
                limit=settings["bounce_rate"],
            )
        if not reason:
            return False
        # sudo: the system pauses the category, whoever sends
        self.sudo().write(
            {
                "is_paused": True,
                "pause_reason": reason,
                "pause_date": fields.Datetime.now(),
            }
        )
        return True

    def action_resume_sending(self):
        """A manager resumes the paused emails: the rates start again from
        now, the held emails go out."""
        self.check_access("write")
        # sudo: the pause fields are the system's; the user may edit these
        # categories (checked above)
        self.sudo().write(
            {
                "is_paused": False,
                "pause_reason": False,
                "pause_date": False,
                "resume_date": fields.Datetime.now(),
            }
        )
        # sudo: the held messages and emails of these categories, released
        messages = (
            self.env["customer.message"]
            .sudo()
            .search([("category_id", "in", self.ids), ("pause_reason", "!=", False)])
        )
        messages.pause_reason = False
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    ("customer_message_recipient_id.message_id", "in", messages.ids),
                    ("state", "=", "outgoing"),
                ]
            )
        )
        mails.scheduled_date = fields.Datetime.now()
        self.env["mail.mail"]._trigger_sending_crons()
        self.env.ref("customer_messages.ir_cron_customer_message_process")._trigger()
        return True


class CustomerMessage(models.Model):
    _inherit = "customer.message"

    pause_reason = fields.Char(
        readonly=True,
        copy=False,
        help="Why its emails wait: the circuit breaker of its category.",
    )

    def write(self, vals):
        _check_breaker_fields(self, vals)
        return super().write(vals)

    def _note_paused(self, reason):
        """Say on these messages why they wait, and tell the managers once
        per message."""
        # sudo: the system says why (the caller runs the gate)
        for message in self.sudo().filtered(
            lambda message: message.pause_reason != reason
        ):
            message.pause_reason = reason
            managers = self.env.ref("customer_messages.customer_messages_group_manager")
            # queued, not sent from within the gate
            message.with_context(mail_notify_force_send=False).message_post(
                body=Markup("<p>%s</p>") % reason,
                partner_ids=managers.sudo().user_ids.partner_id.ids,
                message_type="notification",
                subtype_xmlid="mail.mt_comment",
            )


class CustomerMessageRecipient(models.Model):
    _inherit = "customer.message.recipient"

    def _hold_paused(self):
        """The lines (of the gate of delivery) whose message's category is
        paused by its circuit breaker: they are held, not cancelled: their
        queued emails wait (looked at again later), their message says why.

        :return: the lines held
        """
        held = super()._hold_paused()
        for message, lines in self.grouped("message_id").items():
            category = message.category_id
            if message.channel not in EMAIL_CHANNELS or not category:
                continue
            if message.test_email:
                continue  # a test to a staff address is never paused
            # sudo: the gate runs for whoever sends
            if not category.sudo()._check_breaker():
                if message.pause_reason:
                    # no longer paused (the category is no bulk mail now)
                    message.sudo().pause_reason = False
                continue
            held |= lines
            message.sudo()._note_paused(category.sudo().pause_reason)
        if held:
            # sudo: the queued emails of the held lines wait
            self.env["mail.mail"].sudo().search(
                [
                    ("customer_message_recipient_id", "in", held.ids),
                    ("state", "=", "outgoing"),
                ]
            ).write({"scheduled_date": fields.Datetime.now() + BREAKER_HOLD_DELAY})
        return held
