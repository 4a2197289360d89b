import { registry } from "@web/core/registry";

// Technical labels that must never show in the composer; "None" is the label
// of the document rules' first choice, so it counts outside the fields only
const TECHNICAL = /NewId|\bFalse\b|\bundefined\b|\bnull\b/;
const TECHNICAL_TEXT = /NewId|\bFalse\b|\bNone\b|\bundefined\b|\bnull\b/;

// the text shown outside the fields' own choices (the radio buttons' labels)
function textOutsideChoices(modal) {
    const walker = document.createTreeWalker(modal, NodeFilter.SHOW_TEXT, {
        acceptNode: (node) =>
            node.parentElement.closest(".o_field_radio")
                ? NodeFilter.FILTER_REJECT
                : NodeFilter.FILTER_ACCEPT,
    });
    const parts = [];
    while (walker.nextNode()) {
        parts.push(walker.currentNode.nodeValue);
    }
    return parts.join("\n");
}

function noTechnicalLabels(where) {
    return {
        content: `No technical label (${where})`,
        trigger: ".modal .o_form_view",
        run() {
            for (const modal of document.querySelectorAll(".modal")) {
                const values = [...modal.querySelectorAll("input")].map((input) => input.value);
                const found =
                    textOutsideChoices(modal).match(TECHNICAL_TEXT) ||
                    values.join("\n").match(TECHNICAL);
                if (found) {
                    throw new Error(`"${found[0]}" shows in the composer (${where})`);
                }
            }
        },
    };
}

// Clicks counted as a new user makes them (typing into a field counts once,
// a key pressed in it not at all): counted() wraps a step that is one click
let clicks = 0;

function startCounting(what) {
    return {
        content: `Count the clicks: ${what}`,
        trigger: "body",
        run() {
            clicks = 0;
        },
    };
}

function counted(step) {
    const run = step.run;
    return {
        ...step,
        async run(helpers) {
            clicks += 1;
            if (typeof run === "function") {
                return run.call(this, helpers);
            }
            for (const todo of run.split("&&")) {
                const [, action, args] = todo.trim().match(/^(\w*) *\(? *(.*?)\)?$/);
                await helpers[action](args);
            }
        },
    };
}

function atMostClicks(max, what) {
    return {
        content: `${what}: ${max} clicks or fewer`,
        trigger: "body",
        run() {
            if (clicks > max) {
                throw new Error(`${what} took ${clicks} clicks, more than ${max}`);
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
            content: "The message text follows the recipients, without an empty band between",
            trigger: '.modal label:contains("Message text")',
            run() {
                const count = document.querySelector('.modal div[name="recipient_count"]');
                const gap = this.anchor.getBoundingClientRect().top - count.getBoundingClientRect().bottom;
                if (gap > 100) {
                    throw new Error(`${gap}px between the recipients and the message text`);
                }
            },
        },
        {
            content: "The empty text editor has a border and a placeholder",
            trigger: '.modal div[name="body_html"] .odoo-editor-editable [o-we-hint-text*="Write the message"]',
            run() {
                const editable = this.anchor.closest(".odoo-editor-editable");
                if (getComputedStyle(editable).borderTopWidth === "0px") {
                    const field = editable.closest(".o_field_widget");
                    throw new Error(`the text editor has no border (${field.className})`);
                }
            },
        },
        {
            content: "One customer",
            trigger: '.modal div[name="partner_id"] input',
            run: "edit Alice Person",
        },
        {
            content: "The picker finds customers and creates none",
            trigger: '.ui-autocomplete .dropdown-item:contains("Alice Person")',
            run() {
                const menu = this.anchor.closest(".ui-autocomplete");
                if (menu.querySelector(".o_m2o_dropdown_option_create, .o_m2o_dropdown_option_create_edit")) {
                    throw new Error(`the customer picker offers to create: ${menu.innerText}`);
                }
            },
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
            content: "One customer does not wait for approval: no warning",
            trigger: '.modal:not(:has(div[name="approval_compose"]))',
        },
        {
            content: "List them, before any subject is written",
            trigger: '.modal button[name="action_view_recipients"]',
            run: "click",
        },
        {
            trigger: '.modal:has(.o_list_view) .o_list_view td:contains("Alice Person")',
        },
        {
            trigger: '.modal:has(.o_list_view) footer button:contains("Back to the message")',
            run: "click",
        },
        {
            trigger: '.modal:not(:has(.o_list_view)) div[name="partner_id"] input:value("Alice Person")',
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
            trigger: '.modal div[name="proforma_policy"] input[data-value="last"]',
            run: "click",
        },
        {
            trigger: '.modal div[name="proforma_policy"] input[data-value="last"]:checked',
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
        {
            content: "Save as template",
            trigger: '.modal a.nav-link:contains("Save as template")',
            run: "click",
        },
        {
            trigger: '.modal div[name="template_name"] input',
            run: "edit Documents letter",
        },
        {
            trigger: '.modal button[name="action_save_as_template"]',
            run() {
                // the dialog, marked: the same one must stay
                this.anchor.closest(".modal").classList.add("o_cm_same_dialog");
                this.anchor.click();
            },
        },
        {
            trigger: '.o_notification:contains("Documents letter")',
        },
        {
            content: "The same dialog, with the template now picked",
            trigger: '.modal.o_cm_same_dialog div[name="template_id"] input:value("Documents letter")',
        },
        {
            content: "The invoice picker opens",
            trigger: '.modal.o_cm_same_dialog a.nav-link:contains("Financial documents")',
            run: "click",
        },
        {
            trigger: '.modal.o_cm_same_dialog div[name="invoice_ids"] input',
            run: "edit INV",
        },
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("INV")',
            run: "click",
        },
        {
            trigger: '.modal.o_cm_same_dialog div[name="invoice_ids"] .o_tag:contains("INV")',
        },
        {
            trigger: '.modal.o_cm_same_dialog div[name="invoice_ids"] .o_tag:contains("Draft")',
        },
        ...pickChannel("Customer portal"),
        noTechnicalLabels("single, portal"),
        ...pickChannel("Customer portal & Email"),
        noTechnicalLabels("single, portal and email"),
        ...pickChannel("SMS"),
        {
            trigger: '.modal div[name="sms_body"]',
        },
        {
            content: "Type the SMS text (the field keeps the focus)",
            trigger: '.modal div[name="sms_body"] textarea',
            run() {
                this.anchor.focus();
                this.anchor.value = "Hello {{ object.name }}";
                this.anchor.dispatchEvent(new InputEvent("input", { bubbles: true }));
            },
        },
        {
            content: "Counted while typing, as Alice gets it: plain GSM-7, not the raw {{ }}",
            trigger: '.modal div[name="sms_body"] .o_customer_message_sms_count:contains("18 characters, 1 SMS (GSM-7), as sent to Alice Person")',
            run() {
                if (document.activeElement !== document.querySelector('.modal div[name="sms_body"] textarea')) {
                    throw new Error("the SMS text lost the focus");
                }
            },
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
            content: "More customers than sent without approval: the composer says so",
            trigger: '.modal div[name="approval_compose"]:contains("approves it before it is sent")',
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
        // the simplest send from Messages > Create: 5 clicks
        startCounting("the simplest send from Messages > Create"),
        counted({
            content: "Click: Messages",
            trigger: '.o_menu_sections button:contains("Messages")',
            run: "click",
        }),
        counted({
            content: "Click: Create",
            trigger: '.o-dropdown-item:contains("Create")',
            run: "click",
        }),
        {
            content: "Type the subject (it has the focus: no click)",
            trigger: '.modal div[name="subject"] input',
            run() {
                if (document.activeElement !== this.anchor) {
                    throw new Error("the subject does not have the focus");
                }
                this.anchor.value = "Works tonight";
                this.anchor.dispatchEvent(new InputEvent("input", { bubbles: true }));
                this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        counted({
            content: "Click: the customer, typed, Enter",
            trigger: '.modal div[name="partner_id"] input',
            run: "edit Alice Person",
        }),
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("Alice Person")',
            run: "press Enter",
        },
        {
            trigger: '.modal div[name="recipient_count"]:contains("1")',
        },
        counted({
            content: "Click: the text, typed",
            trigger: '.modal div[name="body_html"] .odoo-editor-editable',
            run: "editor The street is closed from 8 pm.",
        }),
        counted({
            content: "Click: Send",
            trigger: '.modal footer button[name="action_send"]:enabled',
            run: "click",
        }),
        {
            trigger: 'body:not(:has(.modal)) .o_form_view .o_statusbar_status button.o_arrow_button_current:contains("New")',
        },
        atMostClicks(5, "The simplest send from Messages > Create"),
        // a mass send to the Active customers of one location, each with
        // their last unpaid invoice: 8 clicks
        startCounting("a mass send to a location with the last unpaid invoices"),
        counted({
            content: "Click: Messages",
            trigger: '.o_menu_sections button:contains("Messages")',
            run: "click",
        }),
        counted({
            content: "Click: Send to many",
            trigger: '.o-dropdown-item:contains("Send to many")',
            run: "click",
        }),
        {
            trigger: '.modal div[name="mode"] input[data-value="mass"]:checked',
        },
        {
            content: "Type the subject (it has the focus: no click)",
            trigger: '.modal div[name="subject"] input',
            run() {
                if (document.activeElement !== this.anchor) {
                    throw new Error("the subject does not have the focus");
                }
                this.anchor.value = "Your last invoice is unpaid";
                this.anchor.dispatchEvent(new InputEvent("input", { bubbles: true }));
                this.anchor.dispatchEvent(new Event("change", { bubbles: true }));
            },
        },
        counted({
            content: "Click: the Active status",
            trigger: '.modal div[name="status_active"] input',
            run: "click",
        }),
        counted({
            content: "Click: the location, typed, Enter",
            trigger: '.modal div[name="location_ids"] input',
            run: "edit North",
        }),
        {
            trigger: '.ui-autocomplete .dropdown-item:contains("North Town")',
            run: "press Enter",
        },
        {
            trigger: '.modal div[name="location_ids"] .o_tag:contains("North Town")',
        },
        counted({
            content: "Click: the text, typed",
            trigger: '.modal div[name="body_html"] .odoo-editor-editable',
            run: "editor Please find your last unpaid invoice attached.",
        }),
        counted({
            content: "Click: Invoices, Last unpaid one",
            trigger: '.modal div[name="invoice_policy"] input[data-value="last_unpaid"]',
            run: "click",
        }),
        {
            trigger: '.modal div[name="invoice_policy"] input[data-value="last_unpaid"]:checked',
        },
        counted({
            content: "Click: Send",
            trigger: '.modal footer button[name="action_confirm"]:enabled',
            run: "click",
        }),
        {
            content: "The confirmation says which documents each customer gets",
            trigger: '.modal .o_customer_messages_confirm:contains("Each customer gets their last unpaid invoice")',
        },
        {
            content: "And which ones the first recipient gets",
            trigger: '.modal .o_customer_messages_confirm div[name="preview_documents"] li:contains("Invoice INV")',
        },
        counted({
            content: "Click: Confirm and send",
            trigger: '.modal footer button[name="action_send"]',
            run: "click",
        }),
        {
            content: "The message opens in the history",
            trigger: 'body:not(:has(.modal)) .o_form_view .o_statusbar_status',
        },
        atMostClicks(8, "A mass send to a location with the last unpaid invoices"),
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
