from . import portal
from . import monitoring
