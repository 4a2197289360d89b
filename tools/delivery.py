"""How a mail system reads an SMTP server's answers: what is worth another
try later (temporary) and what is final (permanent), and when to try again."""

import re
import smtplib
import ssl
from datetime import timedelta

# An enhanced status code (RFC 3463) of class 5, subject 7 (security or
# policy): 5.7.1 not authorized, 5.7.23 SPF, 5.7.25 reverse DNS, 5.7.26
# unauthenticated sender (DMARC: neither SPF nor DKIM aligned), 5.7.27
# null MX... The receiving server refuses the sender, not the address
SENDER_FAULT_STATUS = re.compile(r"(?<![\d.])5\.7\.\d{1,3}(?![\d.])")

# Settings (ir.config_parameter), in seconds, with defaults in the spirit of
# Postfix (minimal_backoff_time, maximal_backoff_time,
# maximal_queue_lifetime): first retry after 5 minutes, doubling up to an
# hour, given up after 5 days.
RETRY_FIRST_DELAY = ("customer_messages.retry_first_delay", 300)
RETRY_MAX_DELAY = ("customer_messages.retry_max_delay", 3600)
RETRY_LIFETIME = ("customer_messages.retry_lifetime", 5 * 24 * 3600)


def _causes(error):
    """The error and the errors it was raised from (Odoo wraps the SMTP
    errors of send_email in a MailDeliveryException)."""
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen


def classify(error):
    """(temporary, answer) for an error raised while connecting or sending.

    4xx answers, refused or broken connections, timeouts, TLS and
    authentication trouble are temporary: the email waits and is tried
    again. 5xx answers are permanent. Anything else (an email that crashes
    the sender) is permanent too, so that it fails alone instead of coming
    back for ever.
    """
    for cause in _causes(error):
        if isinstance(cause, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _text in cause.recipients.values()]
            answer = "; ".join(
                f"{address}: {code} {_decode(text)}"
                for address, (code, text) in cause.recipients.items()
            )
            return bool(codes) and all(400 <= code < 500 for code in codes), answer
        if isinstance(cause, smtplib.SMTPAuthenticationError):
            return True, f"{cause.smtp_code} {_decode(cause.smtp_error)}"
        if isinstance(cause, smtplib.SMTPResponseException):
            answer = f"{cause.smtp_code} {_decode(cause.smtp_error)}"
            return 400 <= cause.smtp_code < 500, answer
        if isinstance(
            cause, (smtplib.SMTPServerDisconnected, ssl.SSLError, OSError, TimeoutError)
        ):
            return True, f"{cause.__class__.__name__}: {cause}"
    return False, str(error) or error.__class__.__name__


def sender_fault(answer):
    """The enhanced status code (e.g. "5.7.26") when a permanent answer says
    the receiving server refuses the sender (its domain's SPF, DKIM or
    DMARC, its policy), None otherwise. answer: an SMTP error raised while
    sending, or the text of an answer (a delivery report's Status)."""
    if isinstance(answer, BaseException):
        texts = []
        for cause in _causes(answer):
            if isinstance(cause, smtplib.SMTPRecipientsRefused):
                texts += [
                    _decode(text)
                    for code, text in cause.recipients.values()
                    if code >= 500
                ]
            elif isinstance(cause, smtplib.SMTPResponseException):
                if cause.smtp_code >= 500:
                    texts.append(_decode(cause.smtp_error))
    else:
        texts = [str(answer or "")]
    for text in texts:
        match = SENDER_FAULT_STATUS.search(text.strip()[:40])
        if match:
            return match.group(0)
    return None


def recipient_refusal(error):
    """ "hard" when the server refused the recipient's address for good (a
    5xx answer to RCPT: no such mailbox...), "soft" when only for now (4xx:
    mailbox full...), None when the error is not about the recipient (a
    connection, the sender, the content): how bounces are counted. A 5.7.x
    refusal is the sender's (see sender_fault): never the address's."""
    if sender_fault(error):
        return None
    for cause in _causes(error):
        if isinstance(cause, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _text in cause.recipients.values()]
            if codes and all(code >= 500 for code in codes):
                return "hard"
            return "soft" if codes else None
    return None


def _decode(text):
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return str(text)


def retry_delay(attempts, first_delay, max_delay):
    """The wait before the next try, after ``attempts`` tries: doubling from
    ``first_delay`` up to ``max_delay`` (seconds)."""
    return timedelta(seconds=min(first_delay * 2 ** max(attempts - 1, 0), max_delay))
