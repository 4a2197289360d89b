"""The composer's filter changes, timed as the onchange the web client waits
for (odoo.tests.Form), as a plain Messages / User, on every customer of the
database."""

import cProfile
import statistics
import time

from odoo.tests.form import Form

from .data import MESSAGES_USER_LOGIN
from .paths import SUBJECT
from .report import print_profile

# The filter changes measured, in this order, as a user makes them in the
# composer: (what, change of the form)
COMPOSER_CHANGES = (
    ("mass sending", lambda form, env: setattr(form, "mode", "mass")),
    ("status Active", lambda form, env: setattr(form, "status_active", True)),
    ("billing Recurring", lambda form, env: setattr(form, "billing_recurring", True)),
    (
        "a location",
        lambda form, env: form.location_ids.add(
            env["customer.location"].search([("code", "=", "BN")])
        ),
    ),
    (
        "billing Recurring off",
        lambda form, env: setattr(form, "billing_recurring", False),
    ),
    ("channel SMS", lambda form, env: setattr(form, "channel", "sms")),
    ("channel portal", lambda form, env: setattr(form, "channel", "portal")),
    ("channel email", lambda form, env: setattr(form, "channel", "email")),
)
COMPOSER_RUNS = 3


def measure_composer(env, profiler=None):
    """Each filter change of COMPOSER_CHANGES made COMPOSER_RUNS times in a
    composer opened as a plain Messages / User, timed as the onchange the web
    client waits for: {change: [seconds...]}, and what the last run showed."""
    user = env["res.users"].search([("login", "=", MESSAGES_USER_LOGIN)])
    Composer = env["customer.message.composer"].with_user(user)
    timings = {what: [] for what, _change in COMPOSER_CHANGES}
    shown = []
    for _run in range(COMPOSER_RUNS):
        env.invalidate_all()
        form = Form(Composer)
        form.subject = SUBJECT  # the preview follows the first recipient
        shown = []
        for what, change in COMPOSER_CHANGES:
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            change(form, env)
            if profiler:
                profiler.disable()
            timings[what].append(time.perf_counter() - start)
            shown.append((what, form.recipient_count, form.excluded_count))
    env.cr.rollback()
    return timings, shown


def print_composer(timings, shown, total):
    print()
    print(
        f"composer on {total} customers, {COMPOSER_RUNS} runs: seconds per filter "
        "change (min / median / max), then recipients and excluded shown"
    )
    for (what, seconds), (_what, count, excluded) in zip(
        timings.items(), shown, strict=True
    ):
        print(
            f"  {what:<24}{min(seconds):>8.3f}{statistics.median(seconds):>8.3f}"
            f"{max(seconds):>8.3f}   {count:>7} {excluded:>7}"
        )
    every = [second for seconds in timings.values() for second in seconds]
    print(
        f"  {'every change':<24}{min(every):>8.3f}{statistics.median(every):>8.3f}"
        f"{max(every):>8.3f}"
    )


def measure_eta(env):
    """The sending time of the confirmation (customer.message
    _estimate_sending_time), for every customer of the database on email and
    SMS, under a limit of 20 emails a second and one SMS a second, as a plain
    Messages / User: [seconds per run], and the text of the last run."""
    user = env["res.users"].search([("login", "=", MESSAGES_USER_LOGIN)])
    Throttle = env["customer.message.throttle"]
    Throttle.create({"channel": "email", "max_count": 1200, "period": "minute"})
    Throttle.create({"channel": "sms", "max_count": 60, "period": "minute"})
    Message = env["customer.message"].with_user(user)
    Partner = env["res.partner"].with_user(user)
    timings, text = [], ""
    for _run in range(COMPOSER_RUNS):
        env.invalidate_all()
        start = time.perf_counter()
        partners = Partner._search([("customer_status", "!=", False)])
        text = Message._estimate_sending_time(partners, ["email", "sms"])["text"]
        timings.append(time.perf_counter() - start)
    env.cr.rollback()
    return timings, text


def print_eta(timings, text):
    print(
        f"  {'sending time estimate':<24}{min(timings):>8.3f}"
        f"{statistics.median(timings):>8.3f}{max(timings):>8.3f}   {text}"
    )


def profile_composer(env):
    profiler = cProfile.Profile()
    measure_composer(env, profiler)
    print()
    print("composer changes under cProfile")
    print_profile(profiler)
