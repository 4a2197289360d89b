from . import test_incidents
from . import test_monitoring
from . import test_status_page
