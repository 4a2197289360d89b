from . import customer_message_composer
