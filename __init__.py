from odoo.tools import SQL

from . import models


def _post_init_hook(env):
    # Contacts that existed before the module was installed were "added" when
    # they were created, not on the day of the installation.
    env.cr.execute(
        SQL(
            "UPDATE res_partner SET customer_since = create_date::date "
            "WHERE create_date IS NOT NULL"
        )
    )
