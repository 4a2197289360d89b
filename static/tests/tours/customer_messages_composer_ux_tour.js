import { registry } from "@web/core/registry";

// Technical labels that must never show in the composer; "None" is the label
// of the document rules' first choice, so it counts outside the fields only
const TECHNICAL = /NewId|\bFalse\b|\bundefined\b|\bnull\b/;
const TECHNICAL_TEXT = /NewId|\bFalse\b|\bNone\b|\bundefined\b|\bnull\b/;

function noTechnicalLabels(where) {
    return {
        content: `No technical label (${where})`,
        trigger: ".modal .o_form_view",
        run() {
            for (const modal of document.querySelectorAll(".modal")) {
                const values = [...modal.querySelectorAll("input")].map((input) => input.value);
                const found =
                    modal.innerText.match(TECHNICAL_TEXT) || values.join("\n").match(TECHNICAL);
                if (found) {
                    throw new Error(`"${found[0]}" shows in the composer (${where})`);
                }
            }
        },
    };
}

function openComposer() {
    return [
        {
            content: "Open Messages > Create",
            trigger: '.o_menu_sections button:contains("Messages")',
            run: "click",
        },
        {
            trigger: '.o-dropdown-item:contains("Create")',
            run: "click",
        },
    ];
}

function discard() {
    return [
        {
            content: "Discard the composition",
            trigger: '.modal footer button[special="cancel"]',
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ];
}

function pickChannel(label) {
    return [
        {
            content: `Send to: ${label}`,
            trigger: '.modal div[name="channel"] input',
            run: "click",
        },
        {
            trigger: `.o_select_menu_item:contains("${label}")`,
            run() {
                const items = [...document.querySelectorAll(".o_select_menu_item")];
                items.find((item) => item.innerText.trim() === label).click();
            },
        },
        {
            trigger: `.modal div[name="channel"] input:value("${label}")`,
        },
    ];
}

registry.category("web_tour.tours").add("customer_messages_list_them", {
    url: "/odoo/customer-messages",
    steps: () => [
        ...openComposer(),
        {
            content: "Mass sending",
            trigger: '.modal div[name="mode"] input[data-value="mass"]',
            run: "click",
        },
        {
            content: "Filter on the Active status",
            trigger: '.modal div[name="status_active"] input',
            run: "click",
        },
        {
            trigger: '.modal div[name="recipient_count"]:contains("2")',
        },
        {
            content: "Write the subject",
            trigger: '.modal div[name="subject"] input',
            run: "edit Network upgrade",
        },
        {
            content: "Write the body",
            trigger: '.modal div[name="body_html"] .odoo-editor-editable',
            run: "editor Faster lines from Monday.",
        },
        {
            content: "Attach a file",
            trigger: '.modal div[name="attachment_ids"]',
            run() {
                const input = this.anchor.querySelector('input[type="file"]');
                const files = new DataTransfer();
                files.items.add(new File(["the plan"], "upgrade-plan.txt", { type: "text/plain" }));
                input.files = files.files;
                input.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        {
            trigger: '.modal div[name="attachment_ids"]:contains("upgrade-plan.txt")',
        },
        {
            content: "List them",
            trigger: '.modal button[name="action_view_recipients"]',
            run: "click",
        },
        {
            content: "The recipients are listed in a dialog above the composer",
            trigger: '.modal:has(.o_list_view) .modal-title:contains("Recipients")',
        },
        {
            trigger: '.modal .o_list_view td:contains("Alice Person")',
        },
        {
            trigger: '.modal .o_list_view td:contains("Bob Company")',
        },
        {
            content: "Those counted: not the customer without an email address",
            trigger: ".modal .o_list_view:not(:has(td:contains(Nomail Person)))",
        },
        {
            content: "The composer is still open below it",
            trigger: '.modal div[name="subject"] input:value("Network upgrade")',
        },
        {
            content: "Back to the message",
            trigger: '.modal:has(.o_list_view) footer button:contains("Back to the message")',
            run: "click",
        },
        {
            content: "Back to the same composition: subject, body, filters and file",
            trigger: '.modal:not(:has(.o_list_view)) div[name="subject"] input:value("Network upgrade")',
        },
        {
            trigger: '.modal div[name="body_html"] .odoo-editor-editable:contains("Faster lines from Monday.")',
        },
        {
            trigger: '.modal div[name="status_active"] input:checked',
        },
        {
            trigger: '.modal div[name="attachment_ids"]:contains("upgrade-plan.txt")',
        },
        {
            trigger: '.modal div[name="recipient_count"]:contains("2")',
        },
        {
            content: "Send",
            trigger: '.modal footer button[name="action_confirm"]:enabled',
            run: "click",
        },
        {
            trigger: '.modal .o_customer_messages_confirm:contains("Network upgrade")',
        },
        {
            content: "Confirm and send",
            trigger: '.modal footer button[name="action_send"]',
            run: "click",
        },
        {
            trigger: '.o_form_view .o_statusbar_status button.o_arrow_button_current:contains("New")',
        },
    ],
});

registry.category("web_tour.tours").add("customer_messages_preview_as", {
    url: "/odoo/customer-messages",
    steps: () => [
        ...openComposer(),
        {
            content: "Mass sending",
            trigger: '.modal div[name="mode"] input[data-value="mass"]',
            run: "click",
        },
        {
            content: "Filter on the Active status",
            trigger: '.modal div[name="status_active"] input',
            run: "click",
        },
        {
            content: "Five can receive it (the customer without an address cannot)",
            trigger: '.modal div[name="recipient_count"]:contains("5")',
        },
        {
            content: "Write the subject",
            trigger: '.modal div[name="subject"] input',
            run: "edit Hello {{ object.name }}",
        },
        {
            content: "Open the preview",
            trigger: '.modal a.nav-link:contains("Preview")',
            run: "click",
        },
        {
            content: "The first recipient, 1 of 5",
            trigger: '.modal div[name="preview_position"]:contains("1 of 5")',
        },
        {
            trigger: '.modal div[name="preview_subject"]:contains("Hello Alice Person")',
        },
        {
            content: "Preview as: search the fourth recipient",
            trigger: '.modal div[name="preview_partner_id"] input',
            run: "edit Dora",
        },
        {
            content: "Only recipients are offered",
            trigger: '.ui-autocomplete .dropdown-item:contains("Dora Fourth")',
            run: "click",
        },
        {
            content: "It is previewed, at its position",
            trigger: '.modal div[name="preview_subject"]:contains("Hello Dora Fourth")',
        },
        {
            trigger: '.modal div[name="preview_position"]:contains("4 of 5")',
        },
        {
            content: "Next goes on from there",
            trigger: '.modal button[name="action_preview_next"]',
            run: "click",
        },
        {
            trigger: '.modal div[name="preview_subject"]:contains("Hello Emil Fifth")',
        },
        {
            trigger: '.modal div[name="preview_position"]:contains("5 of 5")',
        },
        {
            content: "The preview stays on its page",
            trigger: '.modal a.nav-link.active:contains("Preview")',
        },
        {
            content: "Next after the last: the first again",
            trigger: '.modal button[name="action_preview_next"]',
            run: "click",
        },
        {
            trigger: '.modal div[name="preview_subject"]:contains("Hello Alice Person")',
        },
        {
            trigger: '.modal div[name="preview_position"]:contains("1 of 5")',
        },
        {
            content: "Previous before the first: the last",
            trigger: '.modal button[name="action_preview_previous"]',
            run: "click",
        },
        {
            trigger: '.modal div[name="preview_subject"]:contains("Hello Emil Fifth")',
        },
        {
            content: "Preview as: a customer who cannot receive it is not offered",
            trigger: '.modal div[name="preview_partner_id"] input',
            run: "edit Nomail",
        },
        {
            trigger: '.ui-autocomplete:contains("No records")',
        },
        {
            content: "Another one",
            trigger: '.modal div[name="preview_partner_id"] input',
            run: "edit Carl",
        },
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("Carl Third")',
            run: "click",
        },
        {
            trigger: '.modal div[name="preview_position"]:contains("3 of 5")',
        },
        {
            content: "Previous goes on from there too",
            trigger: '.modal button[name="action_preview_previous"]',
            run: "click",
        },
        {
            trigger: '.modal div[name="preview_subject"]:contains("Hello Bob Company")',
        },
        {
            trigger: '.modal div[name="preview_position"]:contains("2 of 5")',
        },
        noTechnicalLabels("preview"),
        ...discard(),
    ],
});

registry.category("web_tour.tours").add("customer_messages_walkthrough", {
    url: "/odoo/customer-messages",
    steps: () => [
        ...openComposer(),
        noTechnicalLabels("new composer"),
        {
            content: "One customer",
            trigger: '.modal div[name="partner_id"] input',
            run: "edit Alice Person",
        },
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("Alice Person")',
            run: "click",
        },
        {
            // the form is redrawn when the customer's onchange returns: a
            // field typed in or a menu opened before would be lost
            content: "Her recipient count, once the customer is set",
            trigger: '.modal div[name="recipient_count"]:contains("1")',
        },
        {
            content: "Pick her draft invoice",
            trigger: '.modal div[name="invoice_ids"] input',
            run: "edit Alice",
        },
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("Draft")',
            run: "click",
        },
        {
            trigger: '.modal div[name="invoice_ids"] .o_tag:contains("Draft")',
        },
        {
            content: "And her last pro-forma by the rule: the same one",
            trigger: '.modal div[name="proforma_policy"] input',
            run: "click",
        },
        {
            trigger: '.o_select_menu_item:contains("Last one")',
            run: "click",
        },
        {
            trigger: '.modal div[name="proforma_policy"] input:value("Last one")',
        },
        {
            content: "Write the subject",
            trigger: '.modal div[name="subject"] input',
            run: "edit Your documents, {{ object.name }}",
        },
        noTechnicalLabels("single, email, documents"),
        {
            content: "Preview",
            trigger: '.modal a.nav-link:contains("Preview")',
            run: "click",
        },
        {
            content: "The pro-forma once, named by its number",
            trigger: '.modal div[name="preview_documents"] li:contains("Pro-forma invoice")',
            run() {
                const items = [
                    ...document.querySelectorAll('.modal div[name="preview_documents"] li'),
                ].map((item) => item.innerText);
                if (items.length !== 1) {
                    throw new Error(`the pro-forma is listed ${items.length} times: ${items}`);
                }
            },
        },
        noTechnicalLabels("single, email, preview"),
        ...pickChannel("Customer portal"),
        noTechnicalLabels("single, portal"),
        ...pickChannel("Customer portal & Email"),
        noTechnicalLabels("single, portal and email"),
        ...pickChannel("SMS"),
        {
            trigger: '.modal div[name="sms_body"]',
        },
        noTechnicalLabels("single, SMS"),
        {
            content: "Send by SMS without an SMS provider",
            trigger: '.modal footer button[name="action_send"]:enabled',
            run: "click",
        },
        {
            content: "A clear message, not a server error",
            trigger: '.modal-body:contains("No SMS provider is set up")',
        },
        {
            trigger: ".modal footer button.btn-primary:contains(Close)",
            run: "click",
        },
        {
            content: "The test by SMS says the same",
            trigger: '.modal a.nav-link:contains("Send as test")',
            run: "click",
        },
        {
            trigger: '.modal div[name="test_phone"] input',
            run: "edit +32 470 99 88 77",
        },
        {
            trigger: '.modal div[name="test_partner_id"] input',
            run: "edit Alice Person",
        },
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("Alice Person")',
            run: "click",
        },
        {
            trigger: '.modal button[name="action_send_test"]',
            run: "click",
        },
        {
            trigger: '.modal-body:contains("No SMS provider is set up")',
        },
        {
            trigger: ".modal footer button.btn-primary:contains(Close)",
            run: "click",
        },
        ...pickChannel("Email"),
        {
            content: "Mass sending",
            trigger: '.modal div[name="mode"] input[data-value="mass"]',
            run: "click",
        },
        {
            content: "Filter on the Active status",
            trigger: '.modal div[name="status_active"] input',
            run: "click",
        },
        {
            trigger: '.modal div[name="recipient_count"]:contains("2")',
        },
        {
            content: "A customer without an email address is excluded, named once with its ID",
            trigger: '.modal div[name="exclusion_summary"] li:contains("Nomail Person (ID ")',
            run() {
                if (/\(ID \d+\) \(ID/.test(this.anchor.innerText)) {
                    throw new Error(`the ID shows twice: ${this.anchor.innerText}`);
                }
            },
        },
        noTechnicalLabels("mass, email"),
        {
            content: "Preview the next recipient",
            trigger: '.modal a.nav-link:contains("Preview")',
            run: "click",
        },
        {
            trigger: '.modal button[name="action_preview_next"]',
            run: "click",
        },
        {
            trigger: '.modal div[name="preview_subject"]:contains("Your documents, Bob Company")',
        },
        noTechnicalLabels("mass, preview"),
        ...pickChannel("Customer portal"),
        noTechnicalLabels("mass, portal"),
        ...pickChannel("SMS"),
        noTechnicalLabels("mass, SMS"),
        ...pickChannel("Email"),
        {
            content: "Send",
            trigger: '.modal footer button[name="action_confirm"]:enabled',
            run: "click",
        },
        {
            content: "The confirmation shows the message as its first recipient gets it",
            trigger: '.modal .o_customer_messages_confirm:contains("Your documents, Alice Person")',
        },
        noTechnicalLabels("confirmation"),
        {
            content: "Back",
            trigger: '.modal footer button[name="action_back"]',
            run: "click",
        },
        {
            trigger: '.modal div[name="subject"] input:value("Your documents, {{ object.name }}")',
        },
        noTechnicalLabels("back from the confirmation"),
        ...discard(),
    ],
});

registry.category("web_tour.tours").add("customer_messages_simplest", {
    // The simplest case, started on the customer's form: 3 clicks (click 1,
    // 2, 3 below; typing is no click), see docs/users.md.
    steps: () => [
        {
            content: "Click 1: Send message, on the customer's form",
            trigger: '.o_form_view .o-form-buttonbox button:contains("Send message")',
            run: "click",
        },
        {
            content: "The composer opens on this customer, by email, the subject ready to type",
            trigger: '.modal div[name="partner_id"] input:value("Alice Person")',
        },
        {
            trigger: '.modal div[name="channel"] input:value("Email")',
        },
        {
            trigger: '.modal div[name="subject"] input',
            run() {
                if (document.activeElement !== this.anchor) {
                    throw new Error("the subject does not have the focus");
                }
            },
        },
        {
            content: "Type the subject (the field has the focus: no click)",
            trigger: '.modal div[name="subject"] input',
            run: "edit Maintenance tonight",
        },
        {
            content: "Click 2: the text, and type it",
            trigger: '.modal div[name="body_html"] .odoo-editor-editable',
            run: "editor The network is down from 1 to 3 am.",
        },
        {
            content: "Click 3: Send (one customer: no confirmation step)",
            trigger: '.modal footer button[name="action_send"]:contains("Send"):enabled',
            run: "click",
        },
        {
            content: "Sent: the message opens in the history",
            trigger: '.o_form_view .o_statusbar_status button.o_arrow_button_current:contains("New")',
        },
    ],
});
