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
            content: "A subject with a placeholder reads with a label, not a raw {{ }}",
            trigger: '.o_list_renderer td[name=display_subject]:text("Your invoice, [Customer]")',
        },
        {
            content: "No raw placeholder anywhere in the list",
            trigger: ".o_list_renderer:not(:contains({{))",
        },
        {
            content: "A message no customer got reads Reached nobody, and the read rate is a column",
            trigger: '.o_list_renderer:has(td[name=state]:contains("Reached nobody")):has(th:contains("Read rate"))',
        },
        {
            content: "Open the filters",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Tick Sent beside the default Any (without removed)",
            trigger: ".o_filter_menu .o-dropdown-item:text(Sent)",
            run: "click",
        },
        {
            content: "Both filters apply: the message that reached nobody is gone",
            trigger: '.o_list_renderer:has(td[name=display_subject]:contains("Your invoice")):not(:has(td:contains("Tour notice to nobody")))',
        },
        {
            content: "Open the Logs menu",
            trigger: '.o_menu_sections button:contains("Logs")',
            run: "click",
        },
        {
            trigger: ".o-dropdown-item:text(Email)",
            run: "click",
        },
        {
            content: "The email log lists both customers, with a Read on column",
            trigger: '.o_list_renderer:has(td:text("Other Tour Customer")):has(th:contains("Read on"))',
        },
        {
            content: "Type the Customer ID of the tour customer in the search",
            trigger: '.o_data_row:has(td[name=partner_id]:text("Tour Customer")) td[name=customer_number]',
            async run(helpers) {
                const customerId = this.anchor.textContent.replace(/\D/g, "");
                await helpers.edit(customerId, ".o_searchview_input");
            },
        },
        {
            content: "The search offers its fields: press Enter",
            trigger: '.o_searchview_autocomplete:has(.o-dropdown-item:contains("Customer ID"))',
            run: "press Enter",
        },
        {
            content: "The number searched the Customer ID",
            trigger: '.o_searchview_facet:contains("Customer ID")',
        },
        {
            content: "Only that customer's lines are left",
            trigger: '.o_list_renderer:has(td:text("Tour Customer")):not(:has(td:text("Other Tour Customer")))',
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
        {
            content: "Incidents",
            trigger: '.o_menu_sections a:contains("Incidents"), .o_menu_sections button:contains("Incidents")',
            run: "click",
        },
        {
            trigger: ".o_breadcrumb:contains(Incidents)",
        },
        // An outage notice to one location, from Incidents: 5 clicks
        // (a field typed counts once). The incident is an unplanned outage by
        // default and names itself after its kind and locations.
        {
            content: "Click 1: New",
            trigger: ".o_list_button_add",
            run: "click",
        },
        {
            content: "Click 2: type the location",
            trigger: '.o_form_view div[name="location_ids"] input',
            run: "edit North",
        },
        {
            content: "Click 3: pick it",
            trigger: '.ui-autocomplete .dropdown-item:contains("North Town")',
            run: "click",
        },
        {
            content: "The incident named itself",
            trigger: '.o_form_view div[name="name"] input:value("Unplanned outage: North Town")',
        },
        {
            content: "Click 4: Send notice",
            trigger: '.o_form_view button[name="action_send_notice"]',
            run: "click",
        },
        {
            content: "Click 5: confirm",
            trigger: ".modal footer button.btn-primary",
            run: "click",
        },
        {
            content: "The notice went out: the outage is ongoing",
            trigger: '.o_form_view .o_statusbar_status button.o_arrow_button_current:contains("Ongoing")',
        },
    ],
});
