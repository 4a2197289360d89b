from . import customer_message_recipient_privacy
from . import customer_message_audit
from . import res_partner_privacy
from . import privacy_lookup_wizard
from . import privacy_lookup_wizard_line
