"""The Odoo side of dev/coexistence-check: the module beside OCA's
mail_tracking, both installed in the database given.

    python dev/coexistence_check.py --database DB

A Messages / User sends a customer an email through the module's pipeline
(customer.message._send_to_customers, Odoo's email builder and sender) to an
SMTP server on 127.0.0.1 (tests/smtp_sink.py, the module's tests' own);
mail_tracking's record of it must point to the customer (the email is
addressed to the partner). A delivery report of that email (a hard bounce,
with the headers of the email as mail servers return them) then goes through
Odoo's mail gateway (mail.thread.message_process): the module's recipient
line and mail_tracking's record must both show it.
Prints "checked: ..." or "PROBLEM: ..." lines; exits non-zero on a problem.
"""

import argparse
import logging
import sys
import warnings
from pathlib import Path

from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

# the SMTP sink of the module's tests (tests/smtp_sink.py)
sys.path.append(str(Path(__file__).resolve().parent.parent / "tests"))
from smtp_sink import SMTPSink  # noqa: E402 - after the path to it

CUSTOMER = "coexistence.customer@example.com"
DELIVERY_REPORT = """From: MAILER-DAEMON@mx.example.net
To: isp@example.com
Subject: Undelivered Mail Returned to Sender
Message-Id: <coexistence-bounce@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="XYZ"

--XYZ
Content-Type: text/plain

<{address}>: host mx.example.com said: 550 5.1.1 User unknown

--XYZ
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; {address}
Action: failed
Status: 5.1.1

--XYZ
Content-Type: text/rfc822-headers

{headers}
--XYZ--
"""


def check(env, sink):
    problems = []
    env["ir.mail_server"].search([]).active = False
    env["ir.mail_server"].create(
        {
            "name": "Coexistence check SMTP on 127.0.0.1",
            "smtp_host": "127.0.0.1",
            "smtp_port": sink.port,
            "smtp_encryption": "none",
        }
    )
    env.company.email = "isp@example.com"
    sender = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": "Coexistence Sender",
                "login": "cm_coexistence_sender",
                "email": "sender@example.com",
                "group_ids": [
                    (4, env.ref("base.group_user").id),
                    (4, env.ref("customer_messages.customer_messages_group_user").id),
                ],
            }
        )
    )
    customer = env["res.partner"].create(
        {"name": "Coexistence Customer", "customer_status": "active", "email": CUSTOMER}
    )
    message = (
        env["customer.message"]
        .with_user(sender)
        ._send_to_customers(
            customer,
            {"subject": "Coexistence", "body_html": "<p>Hello</p>", "channel": "email"},
        )
        .with_env(env)
    )
    line = message.recipient_ids
    # recorded before the SMTP server's answer: there once the line is Sent
    received = [item.message for item in sink.take() if CUSTOMER in item.rcpt_tos]
    if len(received) != 1 or line.state != "sent":
        return [f"the email was not sent: {len(received)} received, line {line.state}"]
    (sent,) = received

    # mail_tracking's record of the email: the customer's
    tracking = env["mail.tracking.email"].search([("recipient_address", "=", CUSTOMER)])
    if len(tracking) != 1:
        return [f"mail_tracking has {len(tracking)} records of the email, not 1"]
    if tracking.partner_id != customer:
        problems.append(
            f"mail_tracking's record points to {tracking.partner_id.display_name!r}, "
            f"not to the customer"
        )
    if tracking.state != "sent":
        problems.append(f"mail_tracking's record is {tracking.state!r}, not 'sent'")
    if sent["X-Odoo-MailTracking-ID"] != str(tracking.id):
        problems.append(
            f"the email's X-Odoo-MailTracking-ID is "
            f"{sent['X-Odoo-MailTracking-ID']!r}, "
            f"not {tracking.id}"
        )

    # a hard bounce of it, through Odoo's mail gateway
    headers = "".join(f"{name}: {value}\n" for name, value in sent.items())
    report = DELIVERY_REPORT.format(address=CUSTOMER, headers=headers)
    env["mail.thread"].message_process(False, report)
    env.invalidate_all()
    if line.state != "error" or "User unknown" not in (line.failure_reason or ""):
        problems.append(
            f"the module's line is {line.state!r} ({line.failure_reason!r}), not "
            f"Sent with error by the bounce"
        )
    if not customer.email_suppressed:
        problems.append("the module did not suspend the address of the hard bounce")
    # a hard bounce (status 5.1.1) for mail_tracking too, which then marks
    # the contact's address as bounced
    events = tracking.tracking_event_ids.mapped("event_type")
    if "hard_bounce" not in events or tracking.state != "bounced":
        problems.append(
            f"mail_tracking did not see the bounce: its record is {tracking.state!r}, "
            f"events {events}"
        )
    elif not customer.email_bounced:
        problems.append("mail_tracking did not mark the customer's address bounced")
    if not problems:
        print(
            f"checked: the email to {CUSTOMER} sent through the module's pipeline, "
            f"mail_tracking's record {tracking.id} points to the customer "
            f"(partner {customer.id}); the bounce made the line "
            f"{line.state!r} and suspended the address, mail_tracking's record "
            f"{tracking.state!r} (the customer's address bounced) with the events "
            f"{', '.join(tracking.tracking_event_ids.mapped('event_type'))}"
        )
    return problems


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    args = parser.parse_args(argv)
    config.parse_config(
        ["--database", args.database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the SMTP server's
    registry = Registry(args.database)
    with SMTPSink() as sink, registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        try:
            problems = check(env, sink)
        except Exception as error:  # noqa: BLE001 - any error is the check's finding
            logging.getLogger(__name__).exception("the coexistence check failed")
            problems = [f"the check failed: {error!r}"]
        cr.rollback()  # the database stays as installed
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
