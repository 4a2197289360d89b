from . import test_incidents
from . import test_incident_eta
