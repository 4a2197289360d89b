"""How many SMS segments a text takes, as operators bill them (GSM 03.38):
a text of the GSM 7-bit alphabet holds 160 characters in one SMS and 153
per part when split; any other character makes it Unicode (UCS-2): 70 in
one, 67 per part. The characters of the GSM extension table take two."""

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")


def segments(text):
    """(encoding, length in characters as billed, number of segments)."""
    text = text or ""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        length = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
        single, part, encoding = 160, 153, "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: an emoji takes two
        length = len(text.encode("utf-16-le")) // 2
        single, part, encoding = 70, 67, "Unicode"
    if not length:
        return encoding, 0, 0
    count = 1 if length <= single else -(-length // part)
    return encoding, length, count


def request_may_have_arrived(error):
    """Whether an SMS request that failed with ``error`` may have reached
    the provider, which may then have sent the text: the answer timed out,
    the connection broke after the request, the provider answered a server
    error or something unreadable. False when it surely did not: the
    connection was refused or never made (nobody listening, no route, a
    name not resolved, a connect timeout), the provider refused the request
    (an HTTP 4xx answer, no credit), or the call was never made."""
    # imported here: the module's tools load without the HTTP client
    import requests  # noqa: PLC0415
    import urllib3.exceptions  # noqa: PLC0415

    from odoo.addons.iap.tools import iap_tools  # noqa: PLC0415

    never_connected = (
        # urllib3 2 has NameResolutionError; 1.26 raises NewConnectionError
        urllib3.exceptions.NewConnectionError,
        urllib3.exceptions.ConnectTimeoutError,
        getattr(urllib3.exceptions, "NameResolutionError", ()),
    )
    for cause in _causes(error):
        if isinstance(cause, requests.exceptions.ConnectTimeout):
            return False
        if isinstance(cause, requests.exceptions.ConnectionError):
            reason = cause.args[0] if cause.args else None
            reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError
            return not isinstance(reason, never_connected)
        if isinstance(cause, requests.exceptions.HTTPError):
            status = getattr(cause.response, "status_code", None) or 500
            return status >= 500
        if isinstance(cause, requests.exceptions.RequestException):
            return True  # a read timeout, an answer that is not JSON...
        if isinstance(cause, iap_tools.InsufficientCreditError):
            return False
        if isinstance(cause, iap_tools.IAPServerError):
            return True  # the provider had the request and failed
    return False


def _causes(error):
    seen = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__
    return seen
