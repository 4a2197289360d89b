from . import test_incidents
from . import test_monitoring
