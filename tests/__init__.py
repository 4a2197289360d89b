from . import test_customer_data
from . import test_module
from . import test_sending
from . import test_mass_sending
from . import test_recipients
from . import test_sms
from . import test_portal
from . import test_security
from . import test_delivery
from . import test_throttle
from . import test_bounce
from . import test_history
from . import test_limits
from . import test_read_receipts
from . import test_approval
from . import test_fallback
from . import test_uninstall
from . import test_approval_setup
from . import test_overrides
from . import test_history_truth
from . import test_send_once
from . import test_delivery_recheck
from . import test_audience
from . import test_delivery_reports
from . import test_session_limit

# the feature packages' tests (each folder matches models/<package>/)
from .incident import test_incidents, test_monitoring, test_status_page
from .consent import test_consent, test_consent_log, test_feedback_loop, test_settings
from .automation import test_automation, test_rules, test_schedules, test_clock
from .automation import test_answer_at_once
from .privacy import test_privacy
