import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_messages_menu", {
    url: "/odoo",
    steps: () => [
        {
            content: "Open the apps menu",
            trigger: ".o_navbar_apps_menu button",
            run: "click",
        },
        {
            content: "Open the Messages app",
            trigger: '.o_app[data-menu-xmlid="customer_messages.customer_messages_menu_root"]',
            run: "click",
        },
        {
            content: "The app opens on the history of messages",
            trigger: ".o_breadcrumb:contains(History)",
        },
        {
            content: "Open the Customers menu",
            trigger: '.o_menu_sections button:contains("Customers")',
            run: "click",
        },
        {
            trigger: '.o-dropdown-item:contains("Customers")',
            run: "click",
        },
        {
            content: "The Customers list is shown",
            trigger: ".o_breadcrumb:contains(Customers)",
        },
        {
            content: "The demo-independent customer of the test is listed",
            trigger: ".o_list_renderer td:contains(Tour Customer)",
        },
        {
            content: "Open the Configuration menu",
            trigger: '.o_menu_sections button:contains("Configuration")',
            run: "click",
        },
        {
            content: "Open the tariff plans",
            trigger: '.o-dropdown-item:contains("Tariff plans")',
            run: "click",
        },
        {
            content: "The tariff plans list is shown",
            trigger: ".o_breadcrumb:contains(Tariff plans)",
        },
    ],
});
