from . import test_automation
from . import test_rules
from . import test_schedules
from . import test_clock
from . import test_dunning_pay_links
from . import test_answer_at_once
