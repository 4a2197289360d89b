import ast
import logging
import re

_logger = logging.getLogger(__name__)

MODULE = "customer_messages"

# Where the records made by users read fields: the domain-like columns of
# automation rules and saved filters.
AUTOMATION_DOMAINS = ("filter_domain", "filter_pre_domain")
AUTOMATION_FIELDS = ("trigger_field_ids", "on_change_field_ids", "trg_date_id")
FILTER_EXPRESSIONS = ("domain", "context", "sort")
# What journal entries need, which the uninstallation would try to delete
ACCOUNTING_MODELS = (
    "account.move",
    "res.partner",
    "product.product",
    "product.template",
)


def _uninstall_hook(env):
    """Archive what users made with the module that would break Odoo once it
    is gone: automation rules whose filters or triggers read the module's
    fields (e.g. a rule on contacts filtering on ``customer_status`` would
    fail at every save of a contact), automation rules, scheduled actions and
    server actions that send customer messages (their type goes away with the
    module), and saved filters on the module's fields. They are kept,
    inactive, for the administrator to see what they did; the module's own
    records are left to the uninstallation, which deletes them."""
    fields = _get_module_fields(env)
    # the records on the module's own models go with them
    models = set(_get_module_only(env, "ir.model").mapped("model"))
    own = _get_module_records(env)
    actions = (
        env["ir.actions.server"].search(
            [
                ("state", "=", "customer_message"),
                ("model_id.model", "not in", list(models)),
            ]
        )
        - own["ir.actions.server"]
        - own["ir.cron"].ir_actions_server_id
    )
    crons = (
        env["ir.cron"]
        .with_context(active_test=False)
        .search([("ir_actions_server_id", "in", actions.ids)])
    )
    automations = (
        _get_dependent_automations(env, fields) | actions.base_automation_id
    ).filtered(lambda rule: rule.model_name not in models) - own["base.automation"]
    filters = (
        _get_dependent_filters(env, fields).filtered(
            lambda saved: saved.model_id not in models
        )
        - own["ir.filters"]
    )

    automations.filtered("active").write({"active": False})
    crons.filtered("active").write({"active": False})
    # The type "Send customer message" goes away with the module, and Odoo
    # deletes the actions of that type: they become actions that do nothing
    # (Python code holding a note), out of the Action menus, so that the
    # archived scheduled actions and automation rules keep them.
    for action in actions:
        action.write(
            {
                "state": "code",
                "code": _get_inert_code(action),
                "binding_model_id": False,
                # the module's templates go away with it
                "customer_message_template_id": False,
            }
        )
    filters.filtered("active").write({"active": False})
    _keep_accounting(env)
    if automations or crons or actions or filters:
        _logger.info(
            "%s uninstalled: archived the automation rules %s, the scheduled "
            "actions %s and the filters %s; the server actions %s, which sent "
            "customer messages, now do nothing and left the Action menus",
            MODULE,
            _describe(automations),
            _describe(crons),
            _describe(filters),
            _describe(actions),
        )


def _keep_accounting(env):
    """Journal entries cannot be deleted once posted, nor the contacts and
    products they name: the module's demo invoices that are not drafts, and
    the module's demo customers and products that journal entries staying
    name, are kept as records of no module, instead of failing to be deleted
    with it (each failure an error in the log)."""
    data = env["ir.model.data"].search(
        [("module", "=", MODULE), ("model", "in", ACCOUNTING_MODELS)]
    )
    own = {
        model: env[model]
        .with_context(active_test=False)
        .browse(
            data.filtered(lambda row, model=model: row.model == model).mapped("res_id")
        )
        .exists()
        for model in ACCOUNTING_MODELS
    }
    drafts = own["account.move"].filtered(lambda move: move.state == "draft")
    lines = env["account.move.line"].search(
        [
            ("move_id", "not in", drafts.ids),
            "|",
            "|",
            ("partner_id", "in", own["res.partner"].ids),
            ("move_id.partner_id", "in", own["res.partner"].ids),
            ("product_id", "in", own["product.product"].ids),
        ]
    )
    partners = lines.partner_id | lines.move_id.partner_id
    partners |= partners.commercial_partner_id | partners.parent_id
    products = lines.product_id
    kept = {
        "account.move": own["account.move"] - drafts,
        "res.partner": own["res.partner"] & partners,
        "product.product": own["product.product"] & products,
        "product.template": own["product.template"] & products.product_tmpl_id,
    }
    keys = {(model, record.id) for model, records in kept.items() for record in records}
    if not keys:
        return
    data.filtered(lambda row: (row.model, row.res_id) in keys).unlink()
    _logger.info(
        "%s uninstalled: kept the journal entries %s, the contacts %s and the "
        "products %s it made (demo data): journal entries stay once posted, with "
        "the contacts and products they name",
        MODULE,
        _describe(kept["account.move"]),
        _describe(kept["res.partner"]),
        _describe(kept["product.product"]),
    )


def _describe(records):
    return (
        ", ".join(f"{record.display_name!r} (id {record.id})" for record in records)
        or "(none)"
    )


def _get_inert_code(action):
    template = action.customer_message_template_id
    return (
        f"# This action sent the customer message {template.name or ''!r} "
        f"(template id {template.id or '-'}, channel "
        f"{action.customer_message_channel or '-'}) with the module {MODULE}, "
        "uninstalled since.\n"
        "# It does nothing now.\n"
    )


def _get_module_records(env):
    """The records the module itself made, per model (deleted with it)."""
    data = env["ir.model.data"].search(
        [
            ("module", "=", MODULE),
            (
                "model",
                "in",
                ("base.automation", "ir.actions.server", "ir.cron", "ir.filters"),
            ),
        ]
    )
    records = {
        model: env[model].with_context(active_test=False)
        for model in ("base.automation", "ir.actions.server", "ir.cron", "ir.filters")
    }
    for row in data:
        records[row.model] |= env[row.model].browse(row.res_id)
    return records


def _get_module_only(env, model):
    """The records of ``model`` that go away with the module: those its
    data defines (ir.model.data) and no other installed module defines too."""
    data = env["ir.model.data"].search([("model", "=", model), ("res_id", "!=", False)])
    owners = {}
    for row in data:
        owners.setdefault(row.res_id, set()).add(row.module)
    ours = [res_id for res_id, modules in owners.items() if modules == {MODULE}]
    return env[model].browse(ours).exists()


def _get_module_fields(env):
    """The fields that go away with the module, as {(model, name)}."""
    return {
        (field.model, field.name) for field in _get_module_only(env, "ir.model.fields")
    }


def _get_dependent_automations(env, fields):
    automations = env["base.automation"].with_context(active_test=False).search([])
    return automations.filtered(
        lambda rule: any(
            _expression_uses(env, rule.model_name, rule[name], fields)
            for name in AUTOMATION_DOMAINS
        )
        or any(
            (field.model, field.name) in fields
            for name in AUTOMATION_FIELDS
            for field in rule[name]
        )
    )


def _get_dependent_filters(env, fields):
    filters = env["ir.filters"].with_context(active_test=False).search([])
    return filters.filtered(
        lambda saved: any(
            _expression_uses(
                env, saved.model_id, saved[name], fields, paths=name != "domain"
            )
            for name in FILTER_EXPRESSIONS
        )
    )


def _expression_uses(env, model_name, text, fields, paths=False):
    """Whether the domain ``text`` (or, with ``paths``, any field path in a
    context or a sort, e.g. ``{'group_by': ['customer_status']}``) on the
    model ``model_name`` reads one of ``fields``, {(model, name)}, directly or
    through a relation (``partner_id.customer_status``, ``any`` domains)."""
    if not text or not model_name:
        return False
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError:
        # not Python: look for the names of the model's fields as words
        names = {name for model, name in fields if model == model_name}
        return any(re.search(rf"\b{re.escape(name)}\b", text) for name in names)
    if paths:
        return any(
            _path_uses(env, model_name, re.split(r"[\s:]", const.value)[0], fields)[0]
            for const in ast.walk(node)
            if isinstance(const, ast.Constant) and isinstance(const.value, str)
        )
    return _domain_uses(env, model_name, node, fields)


def _domain_uses(env, model_name, node, fields):
    if not isinstance(node, (ast.List, ast.Tuple)):
        return False
    elements = node.elts
    is_condition = (
        len(elements) == 3
        and isinstance(elements[0], ast.Constant)
        and isinstance(elements[0].value, str)
    )
    if not is_condition:
        return any(
            _domain_uses(env, model_name, element, fields) for element in elements
        )
    uses, comodel = _path_uses(env, model_name, elements[0].value, fields)
    # the value of "any" / "not any" is a domain on the comodel
    return uses or bool(comodel and _domain_uses(env, comodel, elements[2], fields))


def _path_uses(env, model_name, path, fields):
    """Whether the dotted ``path`` from ``model_name`` goes through one of
    ``fields``, and the model it ends on (when relational)."""
    for name in path.split("."):
        if (model_name, name) in fields:
            return True, None
        field = model_name in env and env[model_name]._fields.get(name)
        if not field or not field.relational:
            return False, None
        model_name = field.comodel_name
    return False, model_name
