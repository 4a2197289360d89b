"""Delivery checks against a real multi-process Odoo server (run by
dev/delivery-check, through dev/delivery_check.py).

A real Odoo server (``--workers 2 --max-cron-threads 2``: two HTTP workers,
two cron worker processes, the websocket worker) sends one customer message
to N customers through a fault-injecting SMTP server on 127.0.0.1 (the SMTP
sink of the module's tests, tests/smtp_sink.py, in a process of its own).
The scenarios:

- outage: the relay refuses connections for the first S seconds, and
  greylists (451) every tenth address at its first try: everybody gets the
  email once, nobody is failed, and delivery resumes by itself;
- kill: the Odoo server is killed (SIGKILL, every process of it) in the
  middle of the delivery, then started again: nobody is lost, at most one
  email per cron worker arrives twice, the rest goes out by itself;
- pgrestart: PostgreSQL is stopped in the middle of the delivery and
  started again a few seconds later (``--pg-ctl``: the project's private
  cluster), the Odoo server left running: it carries on by itself, nobody
  is lost, at most one email per cron worker arrives twice, and the server
  is still running at the end;
- cancel: staff cancel the message in the middle of the delivery: no line
  ends Cancelled once its email was received, every line Sent was
  received, nobody gets it twice;
- sms: the message goes by SMS through an SMS gateway stand-in (Odoo's IAP
  protocol on 127.0.0.1: the paid gateway is off this machine) that
  refuses connections for the first S seconds: nobody is failed, every
  number gets its SMS once, by itself;
- throttle: a sending limit of R emails per minute on the relay, shared by
  the two cron workers: no 60 seconds of the server's receive times hold
  more than R emails, and everybody gets the email once;
- doubleclick: a Messages / User clicks Send twice at once on one mass
  composition, over HTTP: one message, everybody once;
- blacklisted: customers excluded after Send and during the delivery are
  never sent the email once excluded;
- slowrelay: the relay answers each email slowly, so that the send lasts
  longer than the cron workers' real-time limit (limit_time_real_cron, see
  slowrelay.py for its value): the sending crons yield before it, no cron
  worker is killed, and everybody gets the email once.

The code, one job per module: ``cli`` (the options, one scenario per run),
``server`` (the Odoo server, its HTTP side), ``database`` (the data, the
looks at the state), ``stand_ins`` (the SMTP sink and the SMS gateway, read
the same way), ``cluster`` (the PostgreSQL restart), ``scenarios`` (the
scenarios of one queued message and their disturbances), ``gates``
(doubleclick, blacklisted), ``slowrelay`` and ``checks`` (what each run must
show). Each prints what was received and exits non-zero on any problem.
"""
