{
    "name": "Customer Messages",
    "summary": "Send emails, portal messages and SMS with invoices and receipts "
    "to filtered customers, with a history per recipient",
    "version": "19.0.1.0.0",
    "category": "Marketing",
    "website": "https://github.com/customer-messages/customer_messages",
    "author": "Customer Messages developers",
    "license": "LGPL-3",
    "depends": ["mail", "portal", "account", "sms"],
    "data": [
        "security/customer_messages_groups.xml",
        "security/ir.model.access.csv",
        "security/customer_messages_rules.xml",
        "views/customer_location_views.xml",
        "views/customer_tariff_views.xml",
        "views/customer_service_views.xml",
        "views/res_partner_views.xml",
        "views/customer_messages_menus.xml",
    ],
    "demo": [],
    "assets": {
        "web.assets_tests": ["customer_messages/static/tests/tours/*.js"],
    },
    "post_init_hook": "_post_init_hook",
    "application": True,
    "installable": True,
}
