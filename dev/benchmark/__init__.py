"""Benchmark of customer messages against Odoo's mass mailing (run by dev/bench).

Both paths deliver one personalised email per customer, on the same customers
of the same database, to the same aiosmtpd server listening on 127.0.0.1 (in
a process of its own, as a real SMTP server would be, so that it takes none of
the Odoo process's time: tests/smtp_sink.py, the sink the module's tests use too):

- customer_messages: ``customer.message._send_to_customers(...,
  process="cron")`` queues the recipient lines, then ``_cron_process()``
  renders the content, creates one mail.mail per recipient, sends them and
  writes each status back on its line;
- mass_mailing: ``mailing.mailing.action_send_mail()`` renders and queues the
  mail.mail records (with their mailing.trace), then
  ``mail.mail.process_email_queue()`` runs until all of them are sent.

Each path is warmed up first on a few other customers (templates compiled,
caches filled), so that neither pays the first-run costs. Mass mailings to
few recipients are sent at once rather than queued (mail.mail.force.send.limit,
100 by default): it is set to 0 so that mass_mailing always queues, as
``process="cron"`` does. It commits as Odoo's crons do: this is no test and
the database is made for it. A path that raises is reported as failed and the
others still run.

Before the sending paths, the composer is measured on every customer of the
database (the N above, plus excluded ones: no address, invalid, blacklisted,
bounced): the time each filter change takes, as the web client's onchange
(odoo.tests.Form), as a plain Messages / User. Customers are made in SQL (a
clone of one customer made by the ORM), so that 100,000 take seconds. Each
path reports the peak resident memory (VmHWM) of the Odoo processes of the
run, reset before it.

    python dev/bench.py --database cm_bench [--count N] [--profile] [--queue-only]

One job per module:

- cli: the command line and the order of the run;
- context: what the paths share (environment, cron workers, measurement);
- data: the customers, invoices and settings, made in SQL;
- workers: the cron worker processes;
- paths: customer_messages (one process, crons, queued first),
  mass_mailing and the raw smtplib baseline;
- documents: each customer's invoice as a PDF, against Invoicing's Send;
- composer: the composer's filter changes, timed;
- measure: CPU time and memory of the run's processes;
- results: a path's result, and the checks of what the SMTP server received;
- report: the printed tables and ratios.
"""
