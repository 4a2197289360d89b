"""The sending gates seen from outside: one message per composition however
often Send is clicked (doubleclick), and the exclusions rechecked at
delivery (blacklisted)."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from smtp_sink import free_port

from odoo import Command, api

from .checks import check, report
from .database import line_states, look, prepare
from .scenarios import wait_for_delivery
from .server import OdooServer, rpc, wait_for_web
from .stand_ins import start_relay

SENDER = "delivery.check.sender"  # login and password of a Messages / User


def run_doubleclick(args, registry):
    """doubleclick: a Messages / User clicks Send twice at once on one
    composition of a mass message, over HTTP JSON-RPC (the web client's
    call_button) to the two HTTP workers, then once more later: one message
    is made, each click gets it or is told that it is being sent, and every
    customer gets the email once."""
    port = free_port()
    server = OdooServer(args.database, args.log)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        customers = prepare(env, port, args.count)
        env["res.users"].create(
            {
                "name": "Delivery Check Sender",
                "login": SENDER,
                "password": SENDER,
                "email": "sender@example.com",
                "group_ids": [
                    Command.set(
                        [
                            env.ref("base.group_user").id,
                            env.ref(
                                "customer_messages.customer_messages_group_user"
                            ).id,
                        ]
                    )
                ],
            }
        )
        env.cr.commit()
        expected = set(customers.mapped("email"))
    relay = start_relay(port)
    server.start()
    problems, got = [], []
    try:
        url = wait_for_web(server)
        if not url:
            problems.append("the Odoo server does not answer over HTTP")
            return report(args, problems)
        session = requests.Session()
        _uid, error = rpc(
            session,
            url,
            "/web/session/authenticate",
            {"db": args.database, "login": SENDER, "password": SENDER},
        )
        if error:
            problems.append(f"the sender could not log in: {error}")
            return report(args, problems)
        composer_id, error = rpc(
            session,
            url,
            "/web/dataset/call_kw/customer.message.composer/create",
            {
                "model": "customer.message.composer",
                "method": "create",
                "args": [
                    {
                        "mode": "mass",
                        "partner_ids": [Command.set(customers.ids)],
                        "channel": "email",
                        "subject": "Check {{ object.name }}",
                        "body_html": "<p>Check</p>",
                    }
                ],
                "kwargs": {},
            },
        )
        if error:
            problems.append(f"the composition could not be made: {error}")
            return report(args, problems)
        if isinstance(composer_id, list):
            composer_id = composer_id[0]
        barrier = threading.Barrier(2)

        def click(wait=True):
            clicker = requests.Session()
            clicker.cookies.update(session.cookies)
            if wait:
                barrier.wait(timeout=60)
            return rpc(
                clicker,
                url,
                "/web/dataset/call_button/customer.message.composer/action_send",
                {
                    "model": "customer.message.composer",
                    "method": "action_send",
                    "args": [[composer_id]],
                    "kwargs": {},
                },
            )

        with ThreadPoolExecutor(max_workers=2) as pool:
            clicks = [future.result() for future in [pool.submit(click) for _ in "ab"]]
        clicks.append(click(wait=False))  # a click later on
        answers = []
        for result, error in clicks:
            if result:
                answers.append(f"message {result.get('res_id')}")
            elif error.get("name") == "odoo.exceptions.UserError":
                answers.append(f"“{error.get('message')}”")
            else:
                answers.append(f"an error: {error.get('name')}: {error.get('message')}")
                problems.append(f"a click got an error: {error.get('message')}")
        print(
            f"doubleclick: the two clicks got {answers[0]} and {answers[1]}; "
            f"the later one {answers[2]}",
            flush=True,
        )
        opened = {result["res_id"] for result, _error in clicks if result}
        row = look(registry, "SELECT array_agg(id) FROM customer_message")
        made = row[0] or []
        if len(made) != 1:
            problems.append(f"{len(made)} messages were made: {made}")
        if len(opened) != 1 or not clicks[2][0]:
            problems.append(f"the clicks opened the messages {sorted(opened)}")
        if not made:
            return report(args, problems)
        state = wait_for_delivery(registry, server, relay, got, made[0])
        problems += check(args, state, got, expected, server, registry)
    finally:
        server.stop()
        relay.stop()
    return report(args, problems)


def run_blacklisted(args, registry):
    """blacklisted: after Send, before the cron delivers, a sixth of the
    customers are blacklisted, a sixth opt out of the message's category and
    the address of a sixth is suspended (a hard bounce); a sixth more are
    blacklisted once the first emails were received. The first ones end
    Cancelled with the reason and receive nothing; each of the others blacklisted
    during the delivery either was sent the email before (Sent, received
    once) or ends Cancelled with the reason (nothing received); everybody
    else gets it once."""
    port = free_port()
    server = OdooServer(args.database, args.log)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        customers = prepare(env, port, args.count)
        # batches of 20 lines: several claims of lines and of emails
        env["ir.config_parameter"].set_param("customer_messages.batch_size", "20")
        category = env["customer.message.category"].create(
            {"name": "Check newsletter", "allow_opt_out": True}
        )
        message_id = (
            env["customer.message"]
            ._send_to_customers(
                customers,
                {
                    "subject": "Check {{ object.name }}",
                    "channel": "email",
                    "category_id": category.id,
                },
                process="cron",
            )
            .id
        )
        env.cr.commit()  # sent; the server (its cron) is not started yet
        blacklisted, opted_out, suspended = (
            customers[0::6],
            customers[1::6],
            customers[2::6],
        )
        env["mail.blacklist"].create(
            [{"email": email} for email in blacklisted.mapped("email")]
        )
        env["customer.message.preference"].create(
            [
                {
                    "partner_id": partner.id,
                    "category_id": category.id,
                    "channel": "email",
                }
                for partner in opted_out
            ]
        )
        suspended._note_email_bounce("550 5.1.1 mailbox unavailable", hard=True)
        env.cr.commit()
        excluded = {
            **dict.fromkeys(
                blacklisted.mapped("email"), "Excluded: email address blacklisted"
            ),
            **dict.fromkeys(
                opted_out.mapped("email"),
                "Excluded: opted out of Check newsletter messages",
            ),
            **dict.fromkeys(
                suspended.mapped("email"), "Excluded: email address bounced"
            ),
        }
        late = customers[3::6].mapped("email")
    print(
        f"blacklisted: one message to {args.count} customers; {len(excluded)} "
        f"excluded after Send, {len(late)} more to blacklist during the delivery",
        flush=True,
    )
    relay = start_relay(port)
    server.start()
    problems, got = [], []
    pending_late = [late]

    def during(count):
        if pending_late and count:
            with registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                env["mail.blacklist"].create(
                    [{"email": email} for email in pending_late.pop()]
                )
            print(
                f"blacklisted: {len(late)} more blacklisted after {count} emails",
                flush=True,
            )

    try:
        state = wait_for_delivery(registry, server, relay, got, message_id, during)
        problems += check_blacklisted(registry, message_id, state, got, excluded, late)
    finally:
        server.stop()
        relay.stop()
    return report(args, problems)


def check_blacklisted(registry, message_id, state, got, excluded, late):
    """Problems of the blacklisted scenario (see run_blacklisted)."""
    lines = line_states(registry, message_id)
    counts = Counter(rcpt for rcpt, _message_id, _at in got)
    late_states = Counter(lines[address][0] for address in late)
    print(
        f"blacklisted: message {state[0]}; lines "
        f"{dict(Counter(line for line, _reason in lines.values()))}; blacklisted "
        f"during the delivery: {dict(late_states)}; received {len(got)} emails "
        f"for {len(counts)} customers",
        flush=True,
    )
    problems = []
    if state[0] != "sent" or state[1] or state[2]:
        problems.append(
            f"the message is {state[0]} ({state[1]} pending, {state[2]} failed)"
        )
    wrong = [a for a, reason in excluded.items() if lines[a] != ("cancelled", reason)]
    if wrong:
        problems.append(
            f"{len(wrong)} customers excluded after Send are not Cancelled with the "
            f"reason (e.g. {wrong[0]}: {lines[wrong[0]]})"
        )
    for address in late:
        line, reason = lines[address]
        if line == "cancelled" and not (reason or "").startswith("Excluded: "):
            problems.append(f"{address} is Cancelled without the reason: {reason}")
        if line not in ("cancelled", "sent"):
            problems.append(f"{address} is {line}")
    cancelled = {a for a, (line, _reason) in lines.items() if line == "cancelled"}
    received_cancelled = sorted(cancelled & set(counts))
    if received_cancelled:
        problems.append(f"{len(received_cancelled)} customers Cancelled received it")
    sent = {a for a, (line, _reason) in lines.items() if line == "sent"}
    missing = sent - set(counts)
    if missing:
        problems.append(f"{len(missing)} customers Sent got nothing")
    if set(lines) - cancelled - sent:
        problems.append(
            f"{len(set(lines) - cancelled - sent)} lines neither Sent nor Cancelled"
        )
    twice = [address for address, count in counts.items() if count > 1]
    if twice:
        problems.append(f"{len(twice)} customers got it twice")
    return problems
