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
from . import test_replies
from . import test_replies_channels
from . import test_eta
from . import test_retention
from . import test_pay_links
from . import test_staff_views

# the feature packages' tests (each folder matches models/<package>/)
from .incident import test_incidents, test_monitoring, test_status_page
from .incident import test_incident_eta, test_incident_display
from .consent import test_consent, test_consent_log, test_feedback_loop, test_settings
from .consent import test_unsubscribe_by_email
from .automation import (
    test_automation,
    test_rules,
    test_schedules,
    test_clock,
    test_dunning_pay_links,
    test_answer_at_once,
)
from .privacy import test_privacy
