from . import test_consent
from . import test_consent_log
