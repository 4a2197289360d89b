import logging
from datetime import datetime, timedelta, timezone

from odoo import api, fields, models

from ..tools import delivery
from ..tools import sms as sms_tools
from .customer_message_throttle import Pacer

_logger = logging.getLogger(__name__)

# An SMS whose request to the provider started this long ago and never got
# its outcome recorded (its worker died during the call) is in doubt
IN_FLIGHT_TIMEOUT = timedelta(minutes=10)


class SmsSms(models.Model):
    _inherit = "sms.sms"

    customer_message_recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Customer message recipient",
        index="btree_not_null",
        ondelete="set null",
    )
    customer_message_sending_date = fields.Datetime(
        string="Request sent on",
        copy=False,
        help="Technical: when the request carrying it left for the provider, "
        "until its outcome is recorded.",
    )
    customer_message_in_doubt = fields.Boolean(
        string="In doubt",
        copy=False,
        help="The provider may have sent it: its request may have reached the "
        "provider, which did not answer. It is not sent again by itself.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        sms_list = super().create(vals_list)
        sms_list.filtered(
            lambda sms: sms.customer_message_recipient_id and sms.state == "outgoing"
        )._create_customer_message_trackers()
        return sms_list

    def write(self, vals):
        result = super().write(vals)
        if vals.get("state") == "canceled":
            # an SMS cancelled in Odoo's queue cancels its line, as an email
            # cancelled does (see mail.mail.write)
            self.customer_message_recipient_id._cancel_from_queue()
        return result

    def _get_sms_company(self):
        # the SMS of a customer message go through its company's provider
        company = self.customer_message_recipient_id.company_id
        return company if len(company) == 1 else super()._get_sms_company()

    def _send_with_api(
        self, sms_api, unlink_failed=False, unlink_sent=True, raise_exception=False
    ):
        """The SMS of customer messages take a slot of their company's SMS
        sending limits first, one request each then; those over the limit
        stay queued until their slot (the SMS queue cron is woken then).
        Each is sent at most once (see _start_request): a gateway that
        could not be reached is a temporary failure, the SMS is tried again
        later (see _retry_server_errors); a request that may have reached
        the provider leaves its SMS in doubt, never sent again by itself."""
        ours = self.filtered("customer_message_recipient_id")
        if not ours:
            return super()._send_with_api(
                sms_api, unlink_failed, unlink_sent, raise_exception
            )
        others = self - ours
        if others:
            super(SmsSms, others)._send_with_api(
                sms_api, unlink_failed, unlink_sent, raise_exception
            )
        # the gate of delivery (customer_message_claim.py): SMS sent again
        # later by Odoo's queue are checked again too
        kept = ours._recheck_exclusions()
        (ours - kept).customer_message_recipient_id.message_id._update_state()
        if not kept:
            return None
        # the lines of SMS the gateway failed wait for the retry (sms.tracker)
        ours = kept.with_context(customer_messages_sms_retry=True)
        limits = self.env["customer.message.throttle"]._get_sms_limits(
            ours[:1]._get_sms_company()
        )
        if self.env["customer.message"]._auto_commit():
            # in flight, committed: no other worker takes them again, and
            # the provider's delivery report, which may come before the
            # call returns, finds them (held ones are released)
            ours.write(
                {
                    "state": "process",
                    "customer_message_sending_date": fields.Datetime.now(),
                }
            )
            self.env.cr.commit()  # pylint: disable=invalid-commit
        for batch in ours._paced(limits) if limits else [ours]:
            # one request, each SMS sent at most once (see _start_request)
            recording = batch._start_request(sms_api)
            try:
                super(SmsSms, batch)._send_with_api(
                    recording, unlink_failed, unlink_sent, raise_exception
                )
            finally:
                batch._end_request(recording)
        ours._retry_server_errors()
        # a message ends with its last SMS, also one sent by Odoo's SMS queue
        ours.customer_message_recipient_id.message_id._update_state()
        return None

    def _start_request(self, sms_api):
        """These SMS leave in one request to the provider: in flight (state
        Processing, with the time of the request, committed in crons; see
        _send_with_api). Returns the API to call, which keeps the error."""
        if self.env["customer.message"]._auto_commit():
            self.write({"customer_message_sending_date": fields.Datetime.now()})
            self.env.cr.commit()  # pylint: disable=invalid-commit
        return _RecordingSmsApi(sms_api)

    def _end_request(self, recording):
        """Odoo recorded the answer (``sms.sms._send_with_api``); when the
        call failed in a way that may have reached the provider (see
        tools/sms.request_may_have_arrived), these SMS are in doubt."""
        self.write({"customer_message_sending_date": False})
        if recording.error and sms_tools.request_may_have_arrived(recording.error):
            self._set_in_doubt(str(recording.error))

    def _set_in_doubt(self, error):
        """The provider may have sent these SMS: they are not sent again by
        themselves; their lines fail with the reason, for staff to check
        with the provider before Retry failed (a later delivery report still
        corrects the line)."""
        _logger.warning(
            "Customer messages: SMS %s in doubt (the provider may have sent them): %s",
            self.ids,
            error,
        )
        self.write(
            {
                "state": "error",
                "failure_type": "sms_server",
                "customer_message_in_doubt": True,
            }
        )
        lines = self.customer_message_recipient_id.filtered(
            lambda line: line.state == "processing"
        )
        # sudo: the line follows its SMS, whoever sends
        lines.sudo()._set_delivery_result(
            self.env._(
                "In doubt: the request reached the SMS provider, which did not "
                "answer (%(error)s). The customer may have received the SMS: it "
                "is not sent again by itself. Check with the provider before "
                "using Retry failed.",
                error=error,
            )
        )

    @api.model
    def _process_queue(self):
        # SMS whose worker died during the provider call first: in doubt
        stale = self.search(
            [
                ("state", "=", "process"),
                (
                    "customer_message_sending_date",
                    "<",
                    fields.Datetime.now() - IN_FLIGHT_TIMEOUT,
                ),
            ]
        )
        if stale:
            stale._set_in_doubt(self.env._("no outcome recorded"))
            stale.customer_message_sending_date = False
        return super()._process_queue()

    def _paced(self, limits):
        """These SMS one by one, each once it has its slot of the limits;
        the rest is held when a slot is too far."""
        auto_commit = self.env["customer.message"]._auto_commit()
        # slots are committed at once in crons, for the other workers to see
        slot_cr = self.env.registry.cursor() if auto_commit else self.env.cr
        try:
            pacer = Pacer(self.env, slot_cr, wait=auto_commit)
            for index, sms in enumerate(self):
                held_until = pacer.take(limits)
                if held_until:
                    self[index:]._hold_until(held_until)
                    return
                yield sms
        finally:
            if auto_commit:
                slot_cr.close()

    def _retry_server_errors(self):
        """SMS the gateway failed (unreachable, a server error) are queued
        again for a later try, with the emails' retry delays, until the
        retry lifetime; then their lines fail with the answer."""
        failed = self.filtered(
            lambda sms: sms.state == "error"
            and sms.failure_type == "sms_server"
            and not sms.customer_message_in_doubt
        )
        if not failed:
            return
        retry = self.env["mail.mail"]._get_retry_settings()
        answer = self.env["sms.tracker"]._get_customer_message_failure_reason(
            "sms_server"
        )
        now = fields.Datetime.now()
        next_tries = []
        for sms in failed:
            line = sms.customer_message_recipient_id
            attempts = line.delivery_attempts + 1
            lifetime = retry["retry_lifetime"]
            if lifetime <= 0 or now >= sms.create_date + timedelta(seconds=lifetime):
                line._set_delivery_result(
                    self.env._(
                        "Gave up after %(count)s attempts: %(answer)s",
                        count=attempts,
                        answer=answer,
                    )
                )
                continue
            next_try = now + delivery.retry_delay(
                attempts, retry["retry_first_delay"], retry["retry_max_delay"]
            )
            next_tries.append(next_try)
            # sudo: the line follows its SMS, whoever sends
            line.sudo().write(
                {
                    "delivery_attempts": attempts,
                    "last_answer": answer,
                    "next_try_date": next_try,
                }
            )
            sms.write({"state": "outgoing", "failure_type": False})
        if next_tries:
            self._wake_queue(min(next_tries))

    def _wake_queue(self, at):
        # sudo: the queue's cron is woken, whoever sends
        cron = self.env.ref(
            "sms.ir_cron_sms_scheduler_action", raise_if_not_found=False
        )
        if cron:
            cron.sudo()._trigger(at=at)

    def _hold_until(self, slot):
        until = datetime.fromtimestamp(slot, tz=timezone.utc).replace(tzinfo=None)
        self.write({"state": "outgoing", "customer_message_sending_date": False})
        # sudo: the line follows its SMS, whoever sends
        self.customer_message_recipient_id.sudo().write(
            {
                "last_answer": self.env._("Waiting for a sending limit"),
                "next_try_date": until,
            }
        )
        self._wake_queue(until)

    def _create_customer_message_trackers(self):
        """One sms.tracker per SMS, keyed by its uuid as Odoo's notifications
        do: the answer when sending and the later delivery reports reach the
        line through it (see sms.tracker), even once the SMS is deleted.
        A line follows its latest SMS: the trackers of earlier ones go."""
        if not self:
            return
        recipients = self.customer_message_recipient_id
        trackers = self.env["sms.tracker"]
        trackers.search(
            [("customer_message_recipient_id", "in", recipients.ids)]
        ).unlink()
        vals_list = []
        for sms in self:
            recipient = sms.customer_message_recipient_id
            vals_list.append(
                {"sms_uuid": sms.uuid, "customer_message_recipient_id": recipient.id}
            )
        trackers.create(vals_list)


class _RecordingSmsApi:
    """An SMS provider's API (sms.api) that keeps the error of its last
    call: Odoo's sending turns any error into a server error, while what
    follows for the SMS depends on whether the request reached the
    provider."""

    def __init__(self, sms_api):
        self._sms_api = sms_api
        self.error = None

    def __getattr__(self, name):
        return getattr(self._sms_api, name)

    def _send_sms_batch(self, messages, delivery_reports_url=False):
        try:
            return self._sms_api._send_sms_batch(
                messages, delivery_reports_url=delivery_reports_url
            )
        except Exception as error:
            self.error = error
            raise
