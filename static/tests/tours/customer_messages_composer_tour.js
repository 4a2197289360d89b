import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_messages_composer", {
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
            content: "Switch to mass sending",
            trigger: '.modal div[name="mode"] input[data-value="mass"]',
            run: "click",
        },
        {
            content: "Filter on the Active status",
            trigger: '.modal div[name="status_active"] input',
            run: "click",
        },
        {
            content: "Two customers match",
            trigger: '.modal div[name="recipient_count"]:contains("2")',
        },
        {
            content: "The message text is labelled and above the filters",
            trigger: '.modal label:contains("Message text")',
            run() {
                const body = document.querySelector('.modal div[name="body_html"]');
                const filters = document.querySelector('.modal div[name="status_active"]');
                if (!body || !filters) {
                    throw new Error("the message text or the filters are not shown");
                }
                if (body.getBoundingClientRect().top > filters.getBoundingClientRect().top) {
                    throw new Error("the message text is below the filters");
                }
            },
        },
        {
            content: "Write the subject",
            trigger: '.modal div[name="subject"] input',
            run: "edit Planned maintenance",
        },
        {
            content: "Write the body",
            trigger: '.modal div[name="body_html"] .odoo-editor-editable',
            run: "editor Our network is down for maintenance tonight.",
        },
        {
            content: "Send",
            trigger: '.modal footer button[name="action_confirm"]',
            run: "click",
        },
        {
            content: "The confirmation names the number of recipients",
            trigger: '.modal .o_customer_messages_confirm:contains("Planned maintenance")',
        },
        {
            content: "The confirmation says how long the send takes at the sending limits",
            trigger: '.modal div[name="eta"]:contains("2 emails: no sending limit")',
        },
        {
            content: "Confirm and send",
            trigger: '.modal footer button[name="action_send"]',
            run: "click",
        },
        {
            content: "The message opens in the history at once, on its way (the cron sends it)",
            trigger: '.o_form_view .o_statusbar_status button.o_arrow_button_current:contains("New")',
        },
    ],
});
