from . import test_incidents
