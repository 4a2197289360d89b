import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_messages_send_test", {
    url: "/odoo/customer-messages",
    steps: () => [
        {
            content: "Open Messages > Create",
            trigger: '.o_menu_sections button:contains("Messages")',
            run: "click",
        },
        {
            trigger: '.o-dropdown-item:contains("Create")',
            run: "click",
        },
        {
            content: "One customer",
            trigger: '.modal div[name="mode"] input[data-value="single"]',
            run: "click",
        },
        {
            content: "Pick the customer",
            trigger: '.modal div[name="partner_id"] input',
            run: "edit Alice Person",
        },
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("Alice Person")',
            run: "click",
        },
        {
            content: "Write the subject",
            trigger: '.modal div[name="subject"] input',
            run: "edit Test of the notice",
        },
        {
            content: "Open the test tab",
            trigger: '.modal a.nav-link:contains("Send as test")',
            run: "click",
        },
        {
            content: "The customer to render it for",
            trigger: '.modal div[name="test_partner_id"] input',
            run: "edit Alice Person",
        },
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("Alice Person")',
            run: "click",
        },
        {
            content: "The staff address",
            trigger: '.modal div[name="test_email"] input',
            run: "edit staff@example.com",
        },
        {
            content: "Send the test",
            trigger: '.modal button[name="action_send_test"]',
            run: "click",
        },
        {
            content: "Odoo says it was sent",
            trigger: '.o_notification:contains("Test message to staff@example.com")',
        },
        {
            content: "The composition is still there, not an error",
            trigger: '.modal div[name="subject"] input:value("Test of the notice")',
        },
    ],
});
