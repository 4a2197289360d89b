from . import portal
from . import portal_reply

# Feature packages
from . import consent
from . import incident
