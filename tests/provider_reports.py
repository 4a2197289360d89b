"""Raw reports (RFC 822 text) built like those the big mailbox providers
send back: delivery status notifications (RFC 3464) of Gmail, Outlook and
Postfix, and complaint feedback reports (ARF, RFC 5965) of Yahoo and
Microsoft's JMRP. Each returns the email that was sent (its headers, as
received by the SMTP recorder) the way the provider does."""


def _returned_headers(sent, redact_to=None):
    """The headers of the email that was sent, as a provider returns them;
    redact_to replaces the recipient (feedback reports often hide it)."""
    lines = []
    for name, value in sent.items():
        if name.lower().startswith(("content-", "mime-")):
            continue  # the body is not returned as it was
        if redact_to is not None and name.lower() in ("to", "cc"):
            value = redact_to
        lines.append(f"{name}: {' '.join(str(value).split())}")
    return "\n".join(lines)


def gmail_dsn(sent, recipient, status, diagnostic, action="failed"):
    """A DSN of Gmail: from mailer-daemon@googlemail.com, the diagnostic
    folded over several lines, the email returned whole (message/rfc822)."""
    folded = "\n ".join(diagnostic.split(". "))
    return f"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: isp@example.com
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
Message-ID: <dsn-{status}-{recipient}@mx.google.com>
References: {sent["Message-Id"]}
In-Reply-To: {sent["Message-Id"]}
X-Failed-Recipients: {recipient}
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000gmail";
 report-type=delivery-status

--000000000000gmail
Content-Type: text/plain; charset="UTF-8"

** Message not delivered **

There was a problem delivering your message to {recipient}.

The response was:

{diagnostic}

--000000000000gmail
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; isp@example.com
Arrival-Date: Tue, 08 Dec 2026 01:00:00 -0800 (PST)

Final-Recipient: rfc822; {recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.102.27, the server for the
 domain example.com.)
Diagnostic-Code: smtp; {folded}
Last-Attempt-Date: Tue, 08 Dec 2026 01:00:01 -0800 (PST)

--000000000000gmail
Content-Type: message/rfc822

{_returned_headers(sent)}

Hello

--000000000000gmail--
"""


def outlook_ndr(sent, recipient, status, diagnostic):
    """A non-delivery report of Exchange Online (Outlook): a readable
    alternative part, the status, the email's headers only."""
    return f"""From: Microsoft Outlook <postmaster@outlook.com>
To: isp@example.com
Subject: Undeliverable: {sent["Subject"]}
Message-ID: <ndr-{status}@BN8NAM12HT123.namprd12.prod.outlook.com>
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="_000_outlook_ndr_"

--_000_outlook_ndr_
Content-Type: multipart/alternative; boundary="_002_outlook_alt_"

--_002_outlook_alt_
Content-Type: text/plain; charset="us-ascii"

Your message to {recipient} couldn't be delivered.

--_002_outlook_alt_
Content-Type: text/html; charset="us-ascii"

<html><body><p>Your message to {recipient} couldn't be delivered.</p></body></html>

--_002_outlook_alt_--

--_000_outlook_ndr_
Content-Type: message/delivery-status

Reporting-MTA: dns;BN8NAM12HT123.mail.protection.outlook.com
Received-From-MTA: dns;mx.example.com
Arrival-Date: Tue, 8 Dec 2026 09:00:00 +0000

Final-Recipient: rfc822;{recipient}
Action: failed
Status: {status}
Diagnostic-Code: smtp;{diagnostic}

--_000_outlook_ndr_
Content-Type: text/rfc822-headers

{_returned_headers(sent)}

--_000_outlook_ndr_--
"""


def postfix_dsn(sent, recipient, status, diagnostic, action="failed"):
    """A DSN of Postfix (the receiving side's relay): Status 5.0.0 is
    common there, the real code in the Diagnostic-Code."""
    subject = (
        "Delayed Mail (still being retried)"
        if action == "delayed"
        else "Undelivered Mail Returned to Sender"
    )
    return f"""From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: isp@example.com
Subject: {subject}
Message-Id: <postfix-{status}-{action}@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
 boundary="4AB2C3D4.1733621000/mx.example.net"

--4AB2C3D4.1733621000/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

<{recipient}>: host mx.example.com said: {diagnostic}

--4AB2C3D4.1733621000/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4AB2C3D4
Arrival-Date: Tue,  8 Dec 2026 01:00:00 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.com
Diagnostic-Code: smtp; {diagnostic}

--4AB2C3D4.1733621000/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{_returned_headers(sent)}

--4AB2C3D4.1733621000/mx.example.net--
"""


def yahoo_arf(sent, redact_to="redacted@yahoo.com", keep_message_id=True):
    """A complaint of Yahoo's feedback loop (ARF): the recipient redacted,
    the email returned whole (message/rfc822)."""
    returned = _returned_headers(sent, redact_to=redact_to)
    if not keep_message_id:
        returned = "\n".join(
            line
            for line in returned.splitlines()
            if not line.lower().startswith("message-id:")
        )
    return f"""From: feedbackloop@yahoo.com
To: fbl@example.com
Subject: FW: {sent["Subject"]}
Message-ID: <arf-yahoo-{abs(hash(returned))}@yahoo.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
 boundary="----=_Part_yahoo_arf"

------=_Part_yahoo_arf
Content-Type: text/plain; charset=us-ascii

This is an email abuse report for an email message received from IP
192.0.2.25 on Tue, 08 Dec 2026 01:00:00 +0000.

------=_Part_yahoo_arf
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Yahoo!-Mail-Feedback/2.0
Version: 1
Original-Mail-From: <bounce@example.com>
Original-Rcpt-To: <{redact_to}>
Arrival-Date: Tue, 08 Dec 2026 01:00:00 +0000
Reported-Domain: example.com
Source-IP: 192.0.2.25

------=_Part_yahoo_arf
Content-Type: message/rfc822

{returned}

Hello

------=_Part_yahoo_arf--
"""


def microsoft_jmrp(sent):
    """A complaint of Microsoft's JMRP (ARF): the recipient's address
    removed, the email's headers returned (text/rfc822-headers)."""
    return f"""From: staff@hotmail.com
To: fbl@example.com
Subject: complaint about message from 192.0.2.25
Message-ID: <jmrp-{abs(hash(sent["Message-Id"]))}@hotmail.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
 boundary="jmrp_boundary"

--jmrp_boundary
Content-Type: text/plain

This is an email abuse report for an email message received from IP
192.0.2.25.

--jmrp_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Microsoft JMRP/1.0
Version: 1
Source-IP: 192.0.2.25
Reported-Domain: example.com

--jmrp_boundary
Content-Type: text/rfc822-headers

{_returned_headers(sent, redact_to="")}

--jmrp_boundary--
"""
