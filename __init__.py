from odoo.tools import SQL

from . import controllers
from . import models
from . import wizards
from .hooks import _uninstall_hook


def _post_init_hook(env):
    # Contacts that existed before the module was installed were "added" when
    # they were created, not on the day of the installation (the column's
    # default); contacts given a date since (demo, imports) keep it.
    env.cr.execute(
        SQL(
            "UPDATE res_partner SET customer_since = create_date::date "
            "WHERE customer_since = CURRENT_DATE AND create_date < CURRENT_DATE"
        )
    )
