"""The data of a delivery check, and the looks at the database while the
Odoo server works (each on a cursor of its own)."""

import psycopg2


def prepare(env, port, count, rate=0, sms=False):
    """Customers, the relay (with a limit of rate emails per minute) or the
    SMS gateway, short retry delays; only the module's crons (and Odoo's SMS
    queue, which sends the SMS tried again)."""
    env["ir.mail_server"].search([]).active = False
    relay = env["ir.mail_server"].create(
        {
            "name": "Faulty relay",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_encryption": "none",
        }
    )
    if rate:
        env["customer.message.throttle"].create(
            {"mail_server_id": relay.id, "max_count": rate, "period": "minute"}
        )
    env.company.email = "isp@example.com"
    params = env["ir.config_parameter"]
    params.set_param("customer_messages.retry_first_delay", "3")
    params.set_param("customer_messages.retry_max_delay", "6")
    ours = env.ref("customer_messages.ir_cron_customer_message_process") | env.ref(
        "customer_messages.ir_cron_customer_message_send"
    )
    if sms:
        params.set_param("sms.endpoint", f"http://127.0.0.1:{port}")
        ours |= env.ref("sms.ir_cron_sms_scheduler_action")
    env["ir.cron"].search([("id", "not in", ours.ids)]).active = False
    customers = env["res.partner"].create(
        [
            {
                "name": f"Check Customer {index:05d}",
                "email": f"check.{index:05d}@example.com",
                # Belgian mobile numbers, as the gateway gets them (E.164)
                "phone": f"+3247{index:07d}",
                "country_id": env.ref("base.be").id,
                "customer_status": "active",
            }
            for index in range(1, count + 1)
        ]
    )
    env.cr.commit()
    return customers


def look(registry, query, params=()):
    """The first row of a query, on a cursor of its own: each look sees what
    the workers committed, and reconnects after a PostgreSQL restart (None
    while the server does not answer)."""
    try:
        with registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchone()
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        return None


def message_state(registry, message_id):
    """(state, lines pending, lines failed), or None while PostgreSQL is
    down."""
    return look(
        registry,
        "SELECT m.state, count(r.id) FILTER (WHERE r.state IN ('new', 'processing')),"
        " count(r.id) FILTER (WHERE r.state = 'error') "
        "FROM customer_message m JOIN customer_message_recipient r "
        "ON r.message_id = m.id WHERE m.id = %s GROUP BY m.state",
        [message_id],
    )


def is_done(state):
    """Whether a message_state is final: nothing left for the crons."""
    return bool(state) and state[0] not in ("new", "processing") and not state[1]


def claims_in_doubt(registry):
    """Emails claimed by workers whose PostgreSQL connection is gone: (not
    settled, settled without their lines), or None while PostgreSQL is
    down."""
    return look(
        registry,
        "SELECT count(*) FILTER (WHERE customer_message_claim_date IS NOT NULL), "
        "count(*) FILTER (WHERE customer_message_claim_date IS NULL) "
        "FROM mail_mail WHERE customer_message_claim_pid > 0 "
        "AND customer_message_claim_pid NOT IN (SELECT pid FROM pg_stat_activity)",
    )


def line_states(registry, message_id):
    """{customer's email: (line state, failure reason)} of a message."""
    with registry.cursor() as cr:
        cr.execute(
            "SELECT p.email, r.state, r.failure_reason "
            "FROM customer_message_recipient r JOIN res_partner p "
            "ON p.id = r.partner_id WHERE r.message_id = %s",
            [message_id],
        )
        return {address: (line, reason) for address, line, reason in cr.fetchall()}
