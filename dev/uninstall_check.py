"""The two Odoo sides of dev/uninstall-check (see there).

    python dev/uninstall_check.py --database DB --phase prepare
        makes, as a user would, the records that need the module
    python dev/uninstall_check.py --database DB --phase verify
        after the uninstallation: the module is gone, Odoo works (contacts
        open, are created and saved with the automation rules running, the
        scheduled actions run) and those records are archived

Each phase prints what it did or found, "PROBLEM: ..." lines for what is
wrong, and exits non-zero when something is.
"""

import argparse
import logging
import sys
import warnings

from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

MODULE = "customer_messages"
PREFIX = "Uninstall check: "
# name: (model, domain) of the automation rules made before the uninstallation
RULES = {
    "blocked contacts": ("res.partner", "[('customer_status', '=', 'blocked')]"),
    "invoices of active customers": (
        "account.move",
        "[('move_type', '=', 'out_invoice'), "
        "('partner_id.customer_status', '=', 'active')]",
    ),
    "companies with a located contact": (
        "res.partner",
        "[('is_company', '=', True), "
        "('child_ids', 'any', [('location_id', '!=', False)])]",
    ),
    # reads none of the module's fields: stays active, and runs
    "contacts named for the check": (
        "res.partner",
        "[('name', 'ilike', 'uninstall check')]",
    ),
}
KEPT_RULE = "contacts named for the check"
CRON = PREFIX + "weekly reminder of unpaid invoices"
ACTION = PREFIX + "send the unpaid reminder"
FILTER = PREFIX + "contacts by customer status"
LOGIN = "cm_uninstall_check"


def prepare(env):
    partner_model = env["ir.model"]._get("res.partner")
    template = env.ref(f"{MODULE}.mail_template_unpaid_reminder")
    for name, (model, domain) in RULES.items():
        env["base.automation"].create(
            {
                "name": PREFIX + name,
                "model_id": env["ir.model"]._get_id(model),
                "trigger": "on_create_or_write",
                "filter_domain": domain,
                "action_server_ids": [
                    (
                        0,
                        0,
                        {
                            "name": PREFIX + name,
                            "model_id": env["ir.model"]._get_id(model),
                            "state": "code",
                            "code": "records.write({'comment': 'automation ran'})"
                            if model == "res.partner"
                            else "records.write({'narration': 'automation ran'})",
                        },
                    )
                ],
            }
        )
    customer_message = {
        "model_id": partner_model.id,
        "state": "customer_message",
        "customer_message_template_id": template.id,
        "customer_message_channel": "email",
        "customer_message_invoice_policy": "unpaid",
        "customer_message_domain": "[('customer_status', '!=', False)]",
    }
    env["ir.cron"].create(
        dict(customer_message, name=CRON, interval_number=1, interval_type="weeks")
    )
    env["ir.actions.server"].create(
        dict(customer_message, name=ACTION, binding_model_id=partner_model.id)
    )
    env["ir.filters"].create(
        {
            "name": FILTER,
            "model_id": "res.partner",
            "domain": "[('customer_status', '!=', False)]",
            "context": "{'group_by': ['customer_status']}",
        }
    )
    env["res.users"].create(
        {
            "name": PREFIX + "user",
            "login": LOGIN,
            "group_ids": [
                (
                    6,
                    0,
                    [
                        env.ref("base.group_user").id,
                        env.ref("base.group_partner_manager").id,
                    ],
                )
            ],
        }
    )
    print(
        f"prepared: {len(RULES)} automation rules ({', '.join(RULES)}), the scheduled "
        f"action {CRON!r}, the server action {ACTION!r} in the contacts' Action menu "
        f"(both of type Send customer message), the filter {FILTER!r}"
    )
    return []


def verify(env):
    problems = []
    module = env["ir.module.module"].search([("name", "=", MODULE)])
    if module.state != "uninstalled":
        problems.append(f"{MODULE} is {module.state}, not uninstalled")
    left = env["ir.model"].search([("model", "=like", "customer.%")])
    if left:
        problems.append(f"models left: {', '.join(left.mapped('model'))}")

    Rule = env["base.automation"].with_context(active_test=False)
    for name in RULES:
        rule = Rule.search([("name", "=", PREFIX + name)])
        if not rule:
            problems.append(f"the automation rule {name!r} was deleted")
        elif rule.active != (name == KEPT_RULE):
            state = "active" if rule.active else "archived"
            problems.append(f"the automation rule {name!r} is {state}")
    cron = env["ir.cron"].with_context(active_test=False).search([("name", "=", CRON)])
    if not cron:
        problems.append("the scheduled action was deleted")
    elif cron.active:
        problems.append("the scheduled action is active")
    action = env["ir.actions.server"].search([("name", "=", ACTION)])
    if not action:
        problems.append("the server action was deleted")
    elif action.binding_model_id or action.state != "code":
        problems.append(
            f"the server action is still in the Action menu of "
            f"{action.binding_model_id.model} (type {action.state})"
        )
    saved = (
        env["ir.filters"]
        .with_context(active_test=False)
        .search([("name", "=", FILTER)])
    )
    if saved.active:
        problems.append("the saved filter is active")

    try:
        with env.cr.savepoint():
            problems += use_odoo(env, cron, action)
    except Exception as error:  # noqa: BLE001 - any error is the check's finding
        logging.getLogger(__name__).exception("Odoo failed without %s", MODULE)
        problems.append(f"Odoo failed without {MODULE}: {error!r}")
    if not problems:
        print(
            "checked: contacts opened, created and saved by an internal user (the "
            "automation rule kept ran), an invoice made, the scheduled actions and the "
            "server action run; archived: the automation rules "
            f"{', '.join(name for name in RULES if name != KEPT_RULE)}, the scheduled "
            "action, the filter; the server action left the Action menu"
        )
    return problems


def use_odoo(env, cron, action):
    """Contacts, as an internal user: the views, a search with the saved
    filters, a new contact and a change (the automation rules of contacts
    run on both), an invoice (those of invoices run); the scheduled actions:
    the archived one run by hand, the time-based automation rules' one; the
    server action run on a contact."""
    problems = []
    user = env["res.users"].search([("login", "=", LOGIN)])
    partners = env["res.partner"].with_user(user)
    partners.get_views([(False, "list"), (False, "form"), (False, "search")])
    env["ir.filters"].with_user(user).get_filters("res.partner")
    partners.search_read([], ["display_name", "email"], limit=80)
    contact = partners.create({"name": "Customer for the uninstall check"})
    contact.write({"name": "Customer for the uninstall check, renamed"})
    if "automation ran" not in (contact.comment or ""):
        problems.append("the automation rule kept active did not run on contacts")
    other = partners.create({"name": "Another contact"})
    other.write({"email": "another@example.com", "name": "Another contact, renamed"})
    invoice = env["account.move"].create(
        {
            "move_type": "out_invoice",
            "partner_id": other.id,
            "invoice_line_ids": [(0, 0, {"name": "Service", "price_unit": 10.0})],
        }
    )
    invoice.write({"ref": "uninstall check"})
    cron.method_direct_trigger()
    env.ref(
        "base_automation.ir_cron_data_base_automation_check"
    ).method_direct_trigger()
    action.with_context(active_model="res.partner", active_ids=other.ids).run()
    return problems


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--phase", choices=("prepare", "verify"), required=True)
    args = parser.parse_args(argv)
    config.parse_config(
        ["--database", args.database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.getLogger("odoo.addons.base.models.ir_cron").setLevel(logging.WARNING)
    registry = Registry(args.database)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        try:
            problems = (prepare if args.phase == "prepare" else verify)(env)
        except Exception as error:  # noqa: BLE001 - any error is the check's finding
            logging.getLogger(__name__).exception("the %s phase failed", args.phase)
            problems = [f"the {args.phase} phase failed: {error!r}"]
            cr.rollback()
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
