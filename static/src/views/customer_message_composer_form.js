import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useOwnedDialogs } from "@web/core/utils/hooks";
import { FormController } from "@web/views/form/form_controller";
import { formView } from "@web/views/form/form_view";
import { SelectCreateDialog } from "@web/views/view_dialogs/select_create_dialog";

/**
 * The recipients of a composition, in Odoo's dialog of matching records (as
 * the domain field shows them), with the module's list of customers; its
 * Close button says where it goes.
 */
export class CustomerMessageRecipientsDialog extends SelectCreateDialog {
    static template = "customer_messages.RecipientsDialog";
    static props = {
        ...SelectCreateDialog.props,
        listViewId: { type: [Number, { value: false }], optional: true },
    };

    get viewProps() {
        return { ...super.viewProps, viewId: this.props.listViewId || false };
    }

    get backLabel() {
        return _t("Back to the message");
    }
}

// The preview's arrows: a step of the preview's position
const PREVIEW_STEPS = { action_preview_previous: -1, action_preview_next: 1 };

/**
 * The composer's form. "List them" opens the recipients in a dialog above the
 * composer instead of in its place (an action in a dialog replaces it): the
 * composition stays as it was, and closing the list goes back to it. The
 * preview's arrows move its position in place (the server computes the
 * recipient there, as for "Preview as"), without reopening the dialog on its
 * first page. Save as new template keeps the composition in its dialog.
 */
export class CustomerMessageComposerFormController extends FormController {
    setup() {
        super.setup();
        this.addDialog = useOwnedDialogs();
    }

    async afterExecuteActionButton(clickParams) {
        // Save as new template answers with a notification only: the dialog
        // stays, and shows the template now picked
        if (clickParams.type === "object" && clickParams.name === "action_save_as_template") {
            await this.model.root.load();
        }
        return super.afterExecuteActionButton(...arguments);
    }

    async beforeExecuteActionButton(clickParams) {
        const record = this.model.root;
        if (clickParams.type === "object" && clickParams.name in PREVIEW_STEPS) {
            await record.update({
                preview_index: record.data.preview_index + PREVIEW_STEPS[clickParams.name],
            });
            return false;
        }
        if (clickParams.type !== "object" || clickParams.name !== "action_view_recipients") {
            return super.beforeExecuteActionButton(...arguments);
        }
        // the recipients are computed from the choices as saved
        if (await record.save()) {
            const action = await this.orm.call(
                record.resModel,
                "action_view_recipients",
                [[record.resId]],
                { context: record.context }
            );
            const listView = (action.views || []).find(([, type]) => type === "list");
            const searchView = action.search_view_id;
            this.addDialog(CustomerMessageRecipientsDialog, {
                title: action.name,
                resModel: action.res_model,
                domain: action.domain,
                context: action.context,
                listViewId: (listView && listView[0]) || false,
                searchViewId: (Array.isArray(searchView) ? searchView[0] : searchView) || false,
                noCreate: true,
                multiSelect: false,
            });
        }
        return false;
    }
}

registry.category("views").add("customer_message_composer_form", {
    ...formView,
    Controller: CustomerMessageComposerFormController,
});
