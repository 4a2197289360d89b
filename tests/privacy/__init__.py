from . import test_privacy
