import { registry } from "@web/core/registry";

// The holder of the email's link opens the message in a browser: the page
// posts its read receipt once shown (the test checks the line is read).
registry.category("web_tour.tours").add("customer_messages_read_receipt", {
    steps: () => [
        {
            content: "The message is shown",
            trigger: ".o_customer_message_subject:contains(New terms of service)",
        },
        {
            content: "The page has posted its read receipt",
            trigger: ".o_customer_message_page[data-read-recorded='1']",
        },
    ],
});
