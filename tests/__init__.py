from . import test_customer_data
from . import test_module
