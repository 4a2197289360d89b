from . import test_consent
from . import test_consent_log
from . import test_feedback_loop
from . import test_unsubscribe_by_email
from . import test_settings
