import { registry } from "@web/core/registry";
import { useDebounced } from "@web/core/utils/timing";
import { SmsWidget, smsWidget } from "@sms/components/sms_widget/fields_sms_widget";

import { useEffect } from "@odoo/owl";

/**
 * The composer's SMS text. Its counter is the server's (sms_counter): the
 * text as the previewed customer gets it, placeholders replaced, counted as
 * the provider bills it (GSM-7 or Unicode). It follows the typing: the text
 * is handed to the form a moment after each keystroke, not only when the
 * field loses the focus.
 */
export class CustomerMessageSmsField extends SmsWidget {
    static template = "customer_messages.SmsField";

    setup() {
        super.setup();
        this.updateWhileTyping = useDebounced(() => {
            const textarea = this.textareaRef.el;
            const value = textarea ? textarea.value : "";
            if (textarea && value !== (this.props.record.data[this.props.name] || "")) {
                this.props.record.update({ [this.props.name]: value });
            }
        }, 300);
        useEffect(
            (textarea) => {
                if (textarea) {
                    textarea.addEventListener("input", this.updateWhileTyping);
                    return () => textarea.removeEventListener("input", this.updateWhileTyping);
                }
            },
            () => [this.textareaRef.el]
        );
    }

    get counter() {
        return this.props.record.data.sms_counter || "";
    }
}

registry.category("fields").add("customer_message_sms", {
    ...smsWidget,
    component: CustomerMessageSmsField,
});
