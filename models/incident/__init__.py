from . import customer_incident
from . import customer_incident_notice
from . import customer_message_incident
from . import mail_template_incident
from . import res_partner_incident
from . import customer_incident_name
