from . import portal

# Feature packages
from . import consent
from . import incident
