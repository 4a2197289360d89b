from . import customer_message_category
from . import customer_message_preference
from . import customer_message_consent
from . import res_partner_consent
from . import phone_blacklist
from . import customer_message_consent_log
from . import customer_message_recipient
from . import res_config_settings
