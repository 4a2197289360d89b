from . import customer_message_composer
from . import customer_message_composer_recipients
