from . import portal
from . import portal_incident
from . import consent
from . import portal_reply
