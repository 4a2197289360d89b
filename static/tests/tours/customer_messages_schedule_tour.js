import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_messages_schedule", {
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
            content: "Mass sending",
            trigger: '.modal div[name="mode"] input[data-value="mass"]',
            run: "click",
        },
        {
            content: "Customers of North Town",
            trigger: '.modal div[name="location_ids"] input',
            run: "edit North Town",
        },
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("North Town")',
            run: "click",
        },
        {
            content: "Write the subject",
            trigger: '.modal div[name="subject"] input',
            run: "edit Weekly tip",
        },
        {
            content: "Repeat it",
            trigger: '.modal button[name="action_repeat"]',
            run: "click",
        },
        {
            content: "The recurring message, prefilled",
            trigger: '.o_form_view div[name="name"] input:value("Weekly tip")',
        },
        {
            content: "Its customers by the composer's own filters, not a domain editor",
            trigger: '.o_form_view div[name="location_ids"] .o_tag:contains("North Town")',
            run() {
                if (document.querySelector(".o_form_view .o_field_domain")) {
                    throw new Error("the recurring message shows a domain editor");
                }
            },
        },
        {
            content: "Only the Active ones",
            trigger: '.o_form_view div[name="status_active"] input',
            run: "click",
        },
        {
            trigger: '.o_form_view div[name="recipient_filter"]:contains("Active")',
        },
        {
            content: "Every N days",
            trigger: '.o_form_view div[name="interval_type"] input[data-value="days"]',
            run: "click",
        },
        {
            content: "Every 7 days",
            trigger: '.o_form_view div[name="interval_number"] input',
            run: "edit 7",
        },
        {
            content: "Save",
            trigger: ".o_form_view .o_form_button_save",
            run: "click",
        },
        {
            content: "Saved, active, with its Pause button",
            trigger: '.o_form_view button[name="action_pause"]',
        },
        {
            trigger: ".o_form_view .o_form_saved",
        },
    ],
});
