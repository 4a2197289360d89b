from collections import defaultdict

from odoo import models


class CustomerMessageRecipient(models.Model):
    """The gate of delivery: what was true when the lines were made may no
    longer be when they are delivered. A customer blacklisted, opted out or
    whose address was suspended after bounces between Send and delivery (a
    message left to the cron, scheduled, waiting for approval, retried,
    deferred by the mail server) gets nothing: each batch is checked again
    when a worker claims it, with the very rules that made the lines
    (``customer.message._get_exclusion_reasons``, in SQL for the whole
    batch), and the customers excluded now end Cancelled with the reason.
    The lines of a bulk category paused by its circuit breaker are held
    there too (``_hold_paused``): not sent, not cancelled.

    Every delivery path claims through this gate: the lines of a message
    (first send, cron batches, Retry failed, fallback messages, scheduled
    and approved ones: ``_lock_new``) and the queued emails a worker takes
    (``mail.mail._claim_for_sending``: emails handed over to the sending
    cron, deferred or left by a crash), and the SMS sent, also again later
    by Odoo's SMS queue (``sms.sms._send_with_api``)."""

    _inherit = "customer.message.recipient"

    def _hold_paused(self):
        """Extension point of the gate of delivery: the lines to hold back
        for now (claimed by the caller), neither sent nor cancelled; none
        here (the consent package holds the lines of a bulk category paused
        by its circuit breaker).

        :return: the lines held
        """
        return self.browse()

    def _recheck_exclusions(self):
        """Cancel the lines whose customer may no longer receive their
        message, with the reason, and return the others.

        The lines must be claimed (locked) by the caller. The rules are the
        ones of line creation, except those that only make sense then: the
        context key ``customer_messages_recheck`` tells them (the daily cap
        of automated messages counts the lines made, see
        customer_message_daily_cap.py).

        :return: the lines still to deliver
        """
        # the lines a package holds (the circuit breaker of bulk categories,
        # models/consent/customer_message_breaker.py) wait, neither sent nor
        # cancelled
        excluded = self._hold_paused().ids
        for message, lines in self.grouped("message_id").items():
            partners = lines.partner_id
            if not partners:
                continue
            reasons = message.with_context(
                customer_messages_recheck=True
            )._get_exclusion_reasons(partners)
            if not reasons:
                continue
            by_reason = defaultdict(list)
            for line in lines:
                reason = reasons.get(line.partner_id.id)
                if reason:
                    by_reason[reason].append(line.id)
            for reason, line_ids in by_reason.items():
                cancelled = self.browse(line_ids)
                cancelled._action_cancel(
                    self.env._("Excluded: %(reason)s", reason=reason)
                )
                # a line whose email another worker is sending is left to it
                excluded += cancelled.filtered(
                    lambda line: line.state == "cancelled"
                ).ids
        return self - self.browse(excluded)


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _recheck_exclusions(self):
        """The emails of customer messages whose lines pass the gate of
        delivery (see customer.message.recipient._recheck_exclusions); the
        others are cancelled with their lines. Emails of other kinds are
        kept as they are."""
        lines = self.customer_message_recipient_id
        kept = lines._recheck_exclusions()
        return self.filtered(
            lambda mail: not mail.customer_message_recipient_id
            or mail.customer_message_recipient_id in kept
        )


class SmsSms(models.Model):
    _inherit = "sms.sms"

    def _recheck_exclusions(self):
        """The SMS of customer messages whose lines pass the gate of
        delivery (see customer.message.recipient._recheck_exclusions); the
        others are cancelled with their lines. Other SMS are kept."""
        kept = self.customer_message_recipient_id._recheck_exclusions()
        return self.filtered(
            lambda sms: not sms.customer_message_recipient_id
            or sms.customer_message_recipient_id in kept
        )
