from . import customer_message_composer
from . import customer_message_composer_recipients
from . import customer_message_composer_preview
from . import customer_message_composer_send_once
from . import customer_message_composer_summary
from . import customer_message_composer_eta
from . import customer_message_composer_pay_links

# Feature packages
from . import automation
