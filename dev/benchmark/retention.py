"""Retention (dev/bench --retention N): N recipient lines with their
rendered bodies, in finished messages older than the retention age (one
message per ``--count`` customers, as a monthly send is), then the
retention's scheduled action (customer.message._cron_purge_old_lines) as the
scheduler runs it, committing its batches. Prints the size of the tables
(pg_total_relation_size: table, indexes and TOAST) before, after the purge,
after PostgreSQL's autovacuum would have passed (VACUUM: the space is free
for the next lines, the files keep their size) and after VACUUM FULL (the
space given back to the system)."""

import math
import time

import psycopg2

from odoo import sql_db
from odoo.tools import SQL

TABLES = (
    "customer_message_recipient",
    "customer_message",
    "mail_message",
    "mail_mail",
)
# a rendered email of a customer message: about 2 KB of HTML
BODY = (
    "<p>Dear %s,</p><p>Your invoice for this month is available in your "
    "customer portal. "
    + "Thank you for being our customer; here is what changes this month. " * 25
    + "</p>"
)


def make_old_lines(env, customers, lines):
    """``lines`` sent lines with their bodies, in messages of 13 months ago
    of ``len(customers)`` lines each, committed."""
    count = math.ceil(lines / len(customers))
    Message = env["customer.message"]
    made = 0
    for index in range(count):
        size = min(len(customers), lines - made)
        message = Message.create(
            {
                "subject": f"Bench monthly invoice {index + 1}",
                "body_html": "<p>Dear <t t-out='object.name'/></p>",
                "channel": "email",
                "state": "sent",
            }
        )
        env.flush_all()
        # sql: 300,000 lines in seconds, as the sending's own insert makes
        # them (the ORM takes minutes)
        env.cr.execute(
            SQL(
                """INSERT INTO customer_message_recipient
                       (message_id, partner_id, company_id, channel, origin,
                        message_date, state, email, subject, body_html,
                        sent_date, done_date, create_uid, write_uid,
                        create_date, write_date)
                   SELECT %(message)s, partner.id, %(company)s, 'email', 'manual',
                          now(), 'sent', partner.email, %(subject)s,
                          replace(%(body)s, '%%s', partner.name), now(), now(),
                          1, 1, now(), now()
                     FROM res_partner AS partner
                    WHERE partner.id = ANY(%(ids)s)""",
                message=message.id,
                company=env.company.id,
                subject=message.subject,
                body=BODY,
                ids=customers.ids[:size],
            )
        )
        made += size
    env.cr.execute(
        "UPDATE customer_message SET date = now() - interval '13 months' "
        "WHERE subject LIKE 'Bench monthly invoice %%'"
    )
    env.cr.commit()
    return made


def table_sizes(env):
    env.cr.execute(
        SQL(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
            "WHERE relname IN %s AND relkind = 'r'",
            TABLES,
        )
    )
    return dict(env.cr.fetchall())


def vacuum(env, database, full=False):
    """VACUUM (FULL) of the tables, on a connection of its own: it cannot
    run in a transaction. This process's transaction ends first: its
    snapshot would keep the deleted lines (as any open transaction on the
    database does, for as long as it runs)."""
    env.cr.commit()
    connection = psycopg2.connect(**sql_db.connection_info_for(database)[1])
    try:
        connection.autocommit = True
        with connection.cursor() as cr:
            for table in TABLES:
                cr.execute(f"VACUUM {'FULL ' if full else ''}ANALYZE {table}")
    finally:
        connection.close()


def run_retention(env, database, customers, lines):
    """Make the lines, purge them, print the sizes; True when every line
    made was purged and the messages kept their counts."""
    start = time.perf_counter()
    made = make_old_lines(env, customers, lines)
    print(
        f"retention: {made} lines made in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    vacuum(env, database)
    stages = [("before", table_sizes(env))]
    start = time.perf_counter()
    env["customer.message"]._cron_purge_old_lines()
    env.cr.commit()
    purge_time = time.perf_counter() - start
    stages.append(("after the purge", table_sizes(env)))
    vacuum(env, database)
    stages.append(("after VACUUM", table_sizes(env)))
    vacuum(env, database, full=True)
    stages.append(("after VACUUM FULL", table_sizes(env)))
    env.cr.execute(
        "SELECT count(*) FROM customer_message_recipient AS line "
        "JOIN customer_message AS message ON message.id = line.message_id "
        "WHERE message.subject LIKE 'Bench monthly invoice %%'"
    )
    left = env.cr.fetchone()[0]
    env.invalidate_all()
    messages = env["customer.message"].search(
        [("subject", "=like", "Bench monthly invoice %")]
    )
    kept = sum(messages.mapped("recipient_count"))
    print(
        f"\nretention: {made} lines purged in {purge_time:.1f} s "
        f"({made / purge_time:.0f} lines/s), {left} left; the messages "
        f"count {kept} recipients"
    )
    width = max(len(table) for table in TABLES)
    print(f"{'table':<{width}}  " + "  ".join(f"{name:>17}" for name, _ in stages))
    for table in TABLES:
        print(
            f"{table:<{width}}  "
            + "  ".join(
                f"{sizes.get(table, 0) / 1048576:>14.1f} MB" for _name, sizes in stages
            )
        )
    return left == 0 and kept == made
