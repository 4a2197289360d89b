from . import test_customer_data
from . import test_module
from . import test_sending
from . import test_mass_sending
from . import test_sms
from . import test_automation
from . import test_portal
from . import test_security
