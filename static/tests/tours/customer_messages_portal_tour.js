import { registry } from "@web/core/registry";

registry.category("web_tour.tours").add("customer_messages_portal", {
    url: "/my",
    steps: () => [
        {
            content: "The Messages entry tells how many messages are unread",
            trigger:
                '.o_portal_index_card:has(a[href="/my/messages"]) [data-placeholder_count="customer_message_unread_count"]:contains("2")',
        },
        {
            content: "Open the messages",
            trigger: '.o_portal_index_card a[href="/my/messages"]',
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The unread invoice message is listed first",
            trigger: 'tbody tr.o_customer_message_unread:first-child a.o_customer_message_link:contains("Your invoice, Acme Homes")',
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The message is shown",
            trigger: '.o_customer_message_subject:contains("Your invoice, Acme Homes")',
        },
        {
            content: "With its body",
            trigger: ".o_customer_message_body:contains(your invoice is attached)",
        },
        {
            content: "And the invoice to download",
            trigger: ".o_customer_message_attachments a.o_customer_message_attachment:contains(.pdf)",
        },
        {
            content: "Answer the message in the reply box",
            trigger: ".o_customer_message_reply textarea[name=body]",
            run: "edit Which invoice is this?",
        },
        {
            content: "Send the reply",
            trigger: ".o_customer_message_reply button.o_customer_message_reply_send",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The reply is sent and listed under the message",
            trigger: ".o_customer_message_reply_sent",
        },
        {
            trigger: ".o_customer_message_reply_item:contains(Which invoice is this?)",
        },
        {
            content: "Back to the list",
            trigger: '.o_portal_submenu a[href="/my/messages"]',
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "The message is now read, the other one is not",
            trigger: "tr.o_customer_message_unread a:contains(Maintenance tonight)",
        },
        {
            trigger: 'tr.o_customer_message_row:not(.o_customer_message_unread) a:contains("Your invoice, Acme Homes")',
        },
    ],
});
