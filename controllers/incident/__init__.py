from . import portal
from . import monitoring
from . import status
