from . import customer_message_composer
from . import customer_message_composer_recipients
from . import customer_message_composer_preview
from . import customer_message_composer_send_once

# Feature packages
from . import automation
