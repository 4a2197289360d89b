from . import test_incidents
from . import test_monitoring
from . import test_status_page
from . import test_incident_eta
from . import test_incident_display
