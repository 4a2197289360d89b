"""The run's data: the mail server, the crons, the customers (made in SQL, so
that 100,000 take seconds), the invoices, and a plain Messages / User."""

import datetime

from odoo.tools import SQL

WARMUP_COUNT = 20
# customers the composer excludes, beside the N customers the paths send to
# (one in EXCLUDED_EVERY of N, of each kind)
EXCLUDED_EVERY = 50
# the plain Messages / User the composer is measured as
MESSAGES_USER_LOGIN = "bench_messages_user"


def prepare(env, port, count):
    """The mail server, the sender and the customers, committed: the
    customers sent to, and those of the warm-ups."""
    env["ir.mail_server"].search([]).write({"active": False})
    env["ir.mail_server"].create(
        {
            "name": "Benchmark SMTP on 127.0.0.1",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_encryption": "none",
        }
    )
    env.company.email = "isp@example.com"
    # the cron workers run the module's crons when they are triggered, and
    # nothing else
    ours = env.ref("customer_messages.ir_cron_customer_message_process") | env.ref(
        "customer_messages.ir_cron_customer_message_send"
    )
    env["ir.cron"].search([("id", "not in", ours.ids)]).active = False
    ours.nextcall = datetime.datetime.now() + datetime.timedelta(days=365)
    # mass mailings to at most this many recipients are sent at once rather
    # than queued (100 by default): always queue, like process="cron"
    env["ir.config_parameter"].set_param("mail.mail.force.send.limit", "0")
    locations = env["customer.location"].create(
        [{"name": "Bench North", "code": "BN"}, {"name": "Bench South", "code": "BS"}]
    )
    width = max(5, len(str(count)))
    customers = make_customers(
        env, "Bench Customer", "bench.customer", count, width, locations
    )
    warmup = make_customers(
        env, "Bench Warm-up", "bench.warmup", WARMUP_COUNT, 3, status=False
    )
    make_excluded(env, count // EXCLUDED_EVERY or 1, width, locations)
    # no invitation email: the SMTP server would count it
    env["res.users"].with_context(no_reset_password=True).create(
        {
            "name": "Bench Messages User",
            "login": MESSAGES_USER_LOGIN,
            "email": "bench.user@example.com",
            "group_ids": [
                (6, 0, [env.ref("customer_messages.customer_messages_group_user").id])
            ],
        }
    )
    env.cr.commit()
    return customers, warmup


def make_excluded(env, count, width, locations):
    """``count`` customers of each kind the composer excludes (never sent to
    by the paths): no address, an invalid one, blacklisted, bounced."""
    make_customers(env, "Bench No Mail", None, count, width, locations)
    make_customers(env, "Bench Bad Mail", "not-an-address", count, width, locations)
    blacklisted = make_customers(
        env, "Bench Blacklisted", "bench.blacklisted", count, width, locations
    )
    env["mail.blacklist"].create([{"email": partner.email} for partner in blacklisted])
    bounced = make_customers(
        env, "Bench Bounced", "bench.bounced", count, width, locations
    )
    # sql: as many bounces as Odoo counts, without bouncing
    env.cr.execute(
        SQL("UPDATE res_partner SET message_bounce = 5 WHERE id = ANY(%s)", bounced.ids)
    )


def make_customers(env, name, email, count, width, locations=None, status="active"):
    """``count`` active customers named ``name`` and a number, with the address
    ``email``.NUMBER@example.com (or no address for None, or ``email`` as it is
    when it has no dot), half of them billed monthly, in turn in each location.
    Made in SQL: one customer made by the ORM (every default and computed
    column filled as Odoo fills them), copied ``count`` times in one INSERT."""
    Partner = env["res.partner"]
    model = Partner.create(
        {"name": f"{name} model", "customer_status": status, "billing_type": "prepaid"}
    )
    env.flush_all()
    env.cr.execute(
        SQL(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'res_partner' AND column_name NOT IN %s",
            (
                "id",
                "name",
                "complete_name",
                "email",
                "email_normalized",
                "billing_type",
                "location_id",
            ),
        )
    )
    copied = [SQL.identifier(column) for (column,) in env.cr.fetchall()]
    number = SQL("lpad(i::text, %s, '0')", width)
    if email is None:
        address = SQL("NULL")
    elif "." in email:
        address = SQL("%s || '.' || %s || '@example.com'", email, number)
    else:
        address = SQL("%s", email)
    location_ids = locations.ids if locations else [None]
    # sql: 100,000 customers in seconds (the ORM takes minutes)
    env.cr.execute(
        SQL(
            """INSERT INTO res_partner (name, complete_name, email, email_normalized,
                                        billing_type, location_id, %(columns)s)
               SELECT %(name)s || ' ' || %(number)s, %(name)s || ' ' || %(number)s,
                      %(address)s,
                      CASE WHEN %(address)s LIKE '%%@%%' THEN %(address)s END,
                      CASE WHEN i %% 2 = 0 THEN 'recurring' ELSE 'prepaid' END,
                      (%(locations)s::int[])[1 + i %% %(location_count)s],
                      %(columns)s
                 FROM res_partner, generate_series(1, %(count)s) AS i
                WHERE res_partner.id = %(model)s
                ORDER BY i
            RETURNING id""",
            columns=SQL(", ").join(copied),
            name=name,
            number=number,
            address=address,
            locations=location_ids,
            location_count=len(location_ids),
            count=count,
            model=model.id,
        )
    )
    ids = [partner_id for (partner_id,) in env.cr.fetchall()]
    env.cr.execute(
        SQL("UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", ids)
    )
    model.unlink()
    return Partner.browse(ids)


def count_customers(env):
    """Every customer of the database (the composer's universe)."""
    env.cr.execute("SELECT count(*) FROM res_partner WHERE customer_status IS NOT NULL")
    return env.cr.fetchone()[0]


def customer_names(env, partners):
    """{lowercase address: name} of the customers, read in SQL (the ORM
    would keep 100,000 customers in its cache, in the memory measured)."""
    env.cr.execute(
        SQL(
            "SELECT lower(email), name FROM res_partner WHERE id = ANY(%s) ORDER BY id",
            partners.ids,
        )
    )
    return dict(env.cr.fetchall())


def make_invoices(env, name, count):
    """``count`` customers with one posted invoice each, its PDF not rendered
    yet, committed."""
    customers = make_customers(env, name, name.lower().replace(" ", "."), count, 5)
    product = env["product.product"].search([("name", "=", "Bench Internet")], limit=1)
    if not product:
        product = env["product.product"].create(
            {"name": "Bench Internet", "list_price": 30.0, "type": "service"}
        )
    invoices = env["account.move"].create(
        [
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": datetime.date.today(),
                "invoice_line_ids": [
                    (
                        0,
                        0,
                        {"product_id": product.id, "quantity": 1, "price_unit": 30.0},
                    )
                ],
            }
            for customer in customers
        ]
    )
    invoices.action_post()
    env.cr.commit()
    return invoices
