"""How a mail system reads an SMTP server's answers: what is worth another
try later (temporary) and what is final (permanent), and when to try again."""

import re
import smtplib
import ssl
from collections import namedtuple
from datetime import timedelta

from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

# An enhanced status code (RFC 3463): class.subject.detail, e.g. 5.1.1
STATUS_CODE = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")

# The one table of the status codes the module reads, in an SMTP answer
# while sending and in a delivery report (RFC 3464) received later: the
# first row whose pattern ("*": any number) matches says what the failure
# is. kind: "hard" (the address is refused for good: suspended at once),
# "soft" (for now: counts towards customer_messages.bounce_limit), "sender"
# (the receiving server refuses the sender, its domain's SPF, DKIM or DMARC,
# its reputation: every customer alike, never counted against the
# address). Listed in docs/delivery.md (Bounces). Rows are Status(...)
# calls rather than bare tuples, which the translation extractor misreads.
# The causes and fixes are lazy translations (no environment at import
# time), translated by env._(cause) where a reason is written.
# pylint: disable=prefer-env-translation
Status = namedtuple("Status", "pattern kind cause fix")
STATUS_TABLE = (
    Status(
        "5.7.26",
        "sender",
        _lt(
            "unauthenticated sender: neither SPF nor DKIM passes aligned with the "
            "From domain (DMARC, Gmail)"
        ),
        _lt(
            "publish SPF and DKIM records for the sending domain, aligned with the "
            "From address, and a DMARC record"
        ),
    ),
    Status(
        "5.7.28",
        "sender",
        _lt(
            "an unusual rate of unsolicited mail from the sending IP or domain (Gmail)"
        ),
        _lt(
            "pause bulk sends, remove the addresses that complain or bounce, send "
            "bulk mail at a steady pace from an authenticated domain"
        ),
    ),
    Status(
        "5.7.515",
        "sender",
        _lt(
            "the sending domain does not meet the required authentication level "
            "(Outlook: SPF, DKIM and DMARC for bulk senders)"
        ),
        _lt(
            "publish SPF, DKIM and a DMARC record for the sending domain, aligned "
            "with the From address"
        ),
    ),
    Status(
        "5.7.23",
        "sender",
        _lt("the SPF check of the sending domain failed"),
        _lt("add the sending server to the SPF record of the sending domain"),
    ),
    Status(
        "5.7.25",
        "sender",
        _lt("the sending server's IP address has no reverse DNS (PTR) record"),
        _lt("have the PTR record of the sending IP address set to the server's name"),
    ),
    Status(
        "5.7.27",
        "sender",
        _lt("the sending domain accepts no mail (null MX)"),
        _lt("send from a domain that receives mail (MX records)"),
    ),
    Status(
        "5.7.*",
        "sender",
        _lt("the receiving server's policy refuses the sender"),
        _lt(
            "check the SPF, DKIM and DMARC records of the sending domain and the "
            "reputation of the sending server"
        ),
    ),
    Status(
        "*.2.2",
        "soft",
        _lt("the mailbox is full"),
        _lt("nothing: counted as a soft bounce; the customer frees space"),
    ),
    Status(
        "5.1.*",
        "hard",
        _lt("the address does not exist (unknown user or domain)"),
        _lt("ask the customer for a working address, then Try the address again"),
    ),
    Status(
        "5.*.*",
        "hard",
        _lt("permanent failure for this address"),
        _lt("check the address with the customer"),
    ),
    Status(
        "4.*.*",
        "soft",
        _lt("temporary failure"),
        _lt("nothing: tried again, counted as a soft bounce once given up"),
    ),
)
# pylint: enable=prefer-env-translation

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


def find_status(text):
    """The enhanced status code (e.g. "5.1.1") at the start of an SMTP
    answer or a delivery report's Status or Diagnostic-Code, or None."""
    match = STATUS_CODE.search(str(text or "").strip()[:40])
    return match.group(0) if match else None


def classify_status(code):
    """(kind, cause, fix) of an enhanced status code by STATUS_TABLE, or
    None for a code it does not list (2.x.x: success) or no code."""
    if not code:
        return None
    parts = code.split(".")
    if len(parts) != 3:
        return None
    for pattern, kind, cause, fix in STATUS_TABLE:
        if all(
            p in ("*", part) for p, part in zip(pattern.split("."), parts, strict=True)
        ):
            return kind, cause, fix
    return None


def _refusal_texts(answer):
    """The texts of the permanent (5xx) answers of an SMTP error."""
    texts = []
    for cause in _causes(answer):
        if isinstance(cause, smtplib.SMTPRecipientsRefused):
            texts += [
                _decode(text) for code, text in cause.recipients.values() if code >= 500
            ]
        elif isinstance(cause, smtplib.SMTPResponseException):
            if cause.smtp_code >= 500:
                texts.append(_decode(cause.smtp_error))
    return texts


def sender_fault(answer):
    """The enhanced status code (e.g. "5.7.26") when a permanent answer says
    the receiving server refuses the sender (its domain's SPF, DKIM or
    DMARC, its policy: "sender" in STATUS_TABLE), None otherwise. answer:
    an SMTP error raised while sending, or the text of an answer (a delivery
    report's Status)."""
    if isinstance(answer, BaseException):
        texts = _refusal_texts(answer)
    else:
        texts = [str(answer or "")]
    for text in texts:
        code = find_status(text)
        found = classify_status(code)
        if found and found[0] == "sender":
            return code
    return None


def recipient_refusal(error):
    """ "hard" when the server refused the recipient's address for good (a
    5xx answer to RCPT: no such mailbox...), "soft" when only for now (4xx,
    or a full mailbox, x.2.2, whatever its class), None when the error is not
    about the recipient (a connection, the sender, the content): how bounces
    are counted, by STATUS_TABLE. A "sender" refusal (5.7.x) is never the
    address's."""
    if sender_fault(error):
        return None
    for cause in _causes(error):
        if isinstance(cause, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _text in cause.recipients.values()]
            if not codes:
                return None
            kinds = {
                (classify_status(find_status(_decode(text))) or ("",))[0]
                for _code, text in cause.recipients.values()
            }
            if all(code >= 500 for code in codes) and "soft" not in kinds:
                return "hard"
            return "soft"
    return None


def _decode(text):
    if isinstance(text, bytes):
        return text.decode("utf-8", "replace")
    return str(text)


def retry_delay(attempts, first_delay, max_delay):
    """The wait before the next try, after ``attempts`` tries: doubling from
    ``first_delay`` up to ``max_delay`` (seconds)."""
    return timedelta(seconds=min(first_delay * 2 ** max(attempts - 1, 0), max_delay))
