"""Documents: each customer's own invoice as a PDF, sent by this module
against Invoicing's Send (account.move.send)."""

import datetime
import functools
import time

from .data import make_invoices
from .paths import drain_mail_queue, run_customer_messages_workers
from .results import Result, attempt, check_documents_received, warm_up
from .workers import wait_for

DOCUMENT_WARMUP_COUNT = 3


def run_documents_customer_messages(ctx, invoices):
    """A message to the invoices' customers attaching each one's last
    invoice, processed by the module's two crons in the worker processes."""
    return run_customer_messages_workers(
        ctx, invoices.partner_id, extra_values={"invoice_policy": "last"}
    )


def run_documents_account_move_send(ctx, invoices):
    """Invoicing's Send on the invoices, as its batch wizard does: their
    sending data set and its cron (account.ir_cron_account_move_send)
    triggered in the worker processes, which renders the missing PDFs and
    posts each invoice's email; then Odoo's mail queue sends them, run here
    until they are sent (as for mass_mailing)."""
    env = ctx.env
    cron = env.ref("account.ir_cron_account_move_send")
    with ctx.workers.working():
        start = time.perf_counter()
        invoices.sending_data = {
            "author_user_id": env.user.id,
            "author_partner_id": env.user.partner_id.id,
        }
        cron._trigger()
        env.cr.commit()
        wait_for(
            env,
            "SELECT count(*) FROM account_move "
            "WHERE id = ANY(%s) AND sending_data IS NOT NULL",
            [invoices.ids],
            deadline=max(600, 2 * len(invoices)),
        )
        queued = time.perf_counter()
    ctx.meter.mark_queued()
    left = drain_mail_queue(
        env,
        [
            ("model", "=", "account.move"),
            ("res_id", "in", invoices.ids),
            ("state", "=", "outgoing"),
        ],
    )
    result = Result(
        "account.move.send",
        len(invoices),
        queue_time=queued - start,
        deliver_time=time.perf_counter() - queued,
    )
    if left:
        result.problems.append(f"the mail queue stalled with {left} emails left")
    env.invalidate_all()
    unsent = invoices.filtered(lambda invoice: not invoice.is_move_sent)
    if unsent:
        result.problems.append(f"{len(unsent)} of {len(invoices)} invoices not sent")
    return result


PATHS = (
    ("customer_messages", run_documents_customer_messages),
    ("account.move.send", run_documents_account_move_send),
)


def prepare_documents(env):
    """Invoicing's Send as it must run here: Debian's wkhtmltopdf (unpatched
    Qt) converts one document per call, so its batches are of one invoice
    (account.pdf_generation_batch; a batch of several raises). Odoo's idle
    JavaScript wait (report.print_delay) stays at its default."""
    env["ir.config_parameter"].set_param("account.pdf_generation_batch", "0")
    # its cron, run by the workers when a path triggers it
    cron = env.ref("account.ir_cron_account_move_send")
    cron.write(
        {
            "active": True,
            "nextcall": datetime.datetime.now() + datetime.timedelta(days=365),
        }
    )
    env.cr.commit()


def run_documents(ctx, sink, count, runs):
    """The documents paths, in this order on new invoices for each run:
    fresh PDFs (none rendered yet) by this module and by Invoicing's Send,
    each on invoices of its own; then stored PDFs (rendered by the run
    before) by both on the same invoices."""
    env = ctx.env
    prepare_documents(env)
    print(f"documents: warming up both on {DOCUMENT_WARMUP_COUNT} invoices", flush=True)
    for index, (name, run) in enumerate(PATHS):
        warmup = make_invoices(
            env, f"Bench Warm-up Invoice {index}", DOCUMENT_WARMUP_COUNT
        )
        warm_up(
            ctx,
            sink,
            name,
            run,
            warmup,
            functools.partial(check_documents_received, invoices=warmup),
        )
    results = []
    for run_index in range(runs):
        suffix = f" #{run_index + 1}" if runs > 1 else ""
        print(f"documents: making {2 * count} invoices{suffix}", flush=True)
        own = make_invoices(env, f"Bench Invoice A{run_index}", count)
        other = make_invoices(env, f"Bench Invoice B{run_index}", count)
        for label, invoices_by_path in (
            ("fresh PDF", (own, other)),
            ("stored PDF", (own, own)),
        ):
            for (name, run), invoices in zip(PATHS, invoices_by_path, strict=True):
                print(f"documents, {label}: {name}", flush=True)
                env.invalidate_all()
                result = ctx.meter.measured(attempt, ctx, name, run, invoices)
                result.name = f"{label}: {result.name}{suffix}"
                check_documents_received(result, sink.take(), invoices)
                results.append(result)
    return results
