from . import customer_location
from . import customer_tariff
from . import customer_service
from . import res_partner
