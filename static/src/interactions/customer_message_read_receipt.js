import { Interaction } from "@web/public/interaction";
import { registry } from "@web/core/registry";

/**
 * The read receipt of a customer message's portal page: once the page is
 * shown in a browser, it posts to /my/messages/<id>/read (with the CSRF
 * token, and the email link's access token) so that the message counts as
 * read. A mail provider's link scanner fetching the link does not.
 */
export class CustomerMessageReadReceipt extends Interaction {
    static selector = ".o_customer_message_page[data-read-url]";

    async start() {
        const body = new URLSearchParams({ csrf_token: odoo.csrf_token });
        if (this.el.dataset.accessToken) {
            body.set("access_token", this.el.dataset.accessToken);
        }
        const response = await this.waitFor(
            fetch(this.el.dataset.readUrl, { method: "POST", body })
        );
        if (response.ok && (await this.waitFor(response.json())).read) {
            this.el.dataset.readRecorded = "1";
        }
    }
}

registry
    .category("public.interactions")
    .add("customer_messages.read_receipt", CustomerMessageReadReceipt);
