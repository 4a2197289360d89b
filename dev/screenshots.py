"""The screenshots of README.md and docs/users.md, taken from the demo served
by dev/run.

Playwright drives Debian's Chromium (/usr/bin/chromium): no browser is
downloaded. The script logs in as admin, walks through the back office as a
user would (it sends one message through the composer, so that the history,
the logs and the portal show it; a second run finds it there and does not
send it again, unless --resend), then logs in to the portal as the demo
customer ``portal``. Each page is saved at 1400x900 as
docs/screenshots/<name>.png.

    python dev/screenshots.py --url http://127.0.0.1:8069 \\
        --database customer_messages_demo --output docs/screenshots
"""

import argparse
import io
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, sync_playwright

_logger = logging.getLogger("screenshots")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 900}
MAX_BYTES = 300 * 1024
TIMEOUT_MS = 60_000

# The message sent through the composer: the demo's active customers, by the
# portal and by email, with the unpaid invoices reminder template.
STATUS_FILTER = "status_active"
TEMPLATE = "Customer messages: unpaid invoices reminder"
CHANNEL = "Customer portal & Email"
SUBJECT = "Your unpaid invoices, {{ object.name }}"
# as staff read it in lists: the customer's placeholder as a label
LIST_SUBJECT = "Your unpaid invoices, [Customer]"
PORTAL_SUBJECT = "Your unpaid invoices, Joel Willis"
CUSTOMER = "Greenfield Bakery"
INCIDENT = "Network upgrade in Hillcrest"
APPROVAL_SUBJECT = "New prices from next month"
ACKNOWLEDGE_SUBJECT = "Planned maintenance in Riverside"


class Screenshots:
    def __init__(self, url, database, output):
        self.url = url.rstrip("/")
        self.database = database
        self.output = Path(output)
        self.taken = []
        self.skipped = []
        self.pending = {}

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------

    def new_page(self, context):
        """A page that counts its requests in flight, for settle()."""
        page = context.new_page()
        pending = set()
        self.pending[page] = pending

        def started(request):
            # The bus' shared worker script never reports as finished to the
            # page (so Playwright's "networkidle" never comes): left out.
            if "websocket_worker" not in request.url:
                pending.add(request)

        def ended(request):
            pending.discard(request)

        page.on("request", started)
        page.on("requestfinished", ended)
        page.on("requestfailed", ended)
        return page

    def settle(self, page: Page, selector=None):
        """Wait until the page shows `selector` and Odoo is done loading: no
        request in flight for half a second, no loading indicator."""
        if selector:
            page.locator(selector).first.wait_for(state="visible")
        pending = self.pending[page]
        quiet = 0
        for _ in range(TIMEOUT_MS // 100):
            quiet = 0 if pending else quiet + 1
            if quiet >= 5:
                break
            page.wait_for_timeout(100)
        else:
            urls = ", ".join(sorted(request.url for request in pending))
            raise RuntimeError(f"requests still running on {page.url}: {urls}")
        page.locator(".o_loading_indicator").wait_for(state="detached")
        page.locator(".o_blockUI").wait_for(state="detached")
        page.wait_for_timeout(300)

    def check_page(self, page: Page, name):
        """Refuse to save a login page, an error or a 404."""
        if page.locator("form.oe_login_form").count():
            raise RuntimeError(f"{name}: the login page is shown ({page.url})")
        if page.locator(".o_error_dialog, .o_dialog_error").count():
            text = page.locator(".o_error_dialog, .o_dialog_error").first.inner_text()
            raise RuntimeError(f"{name}: an error dialog is shown: {text[:500]}")

    def shoot(self, page: Page, name):
        self.check_page(page, name)
        page.mouse.move(0, VIEWPORT["height"] - 1)
        page.wait_for_timeout(200)
        png = page.screenshot(type="png", animations="disabled", caret="hide")
        path = self.output / f"{name}.png"
        path.write_bytes(shrink(png))
        self.taken.append(path)
        _logger.info("%s: %d KB", path, path.stat().st_size // 1024)

    def login(self, page: Page, login, password):
        page.goto(f"{self.url}/web/login?db={self.database}")
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", password)
        page.click("form.oe_login_form button[type=submit]")
        page.wait_for_url(lambda url: "/web/login" not in url)
        self.settle(page)

    def field(self, scope, name):
        return scope.locator(f".o_field_widget[name={name}]")

    def select(self, page: Page, scope, name, label):
        """Choose `label` in the selection field `name` (Odoo's select menu)."""
        self.field(scope, name).locator("input").click()
        page.locator(".o_select_menu_menu .o_select_menu_item").get_by_text(
            label, exact=True
        ).click()
        self.settle(page)

    # ------------------------------------------------------------------
    # back office
    # ------------------------------------------------------------------

    def customers(self, page: Page):
        page.goto(f"{self.url}/odoo/isp-customers")
        self.settle(page, ".o_list_view .o_data_row")
        self.shoot(page, "customers")

        page.locator(".o_list_view .o_data_row", has_text=CUSTOMER).first.click()
        self.settle(page, ".o_form_view .o_form_sheet")
        page.locator(".o_notebook_headers a[name=customer_messages_isp]").click()
        self.settle(page, ".o_field_widget[name=service_ids] .o_data_row")
        self.shoot(page, "customer_isp_tab")

    def rpc(self, page: Page, model, method, *args, **kwargs):
        """Call a model's method with the session of the page."""
        response = page.request.post(
            f"{self.url}/web/dataset/call_kw/{model}/{method}",
            data={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {
                    "model": model,
                    "method": method,
                    "args": list(args),
                    "kwargs": kwargs,
                },
            },
        )
        answer = response.json()
        if "error" in answer:
            raise RuntimeError(f"{model}.{method}: {answer['error']}")
        return answer["result"]

    def composer(self, page: Page, resend=False):
        page.goto(f"{self.url}/odoo/customer-messages")
        self.settle(page, ".o_list_view")
        page.locator(".o_menu_sections").get_by_text("Messages", exact=True).click()
        page.locator(".dropdown-menu .dropdown-item", has_text="Create").click()
        dialog = page.locator(".modal .o_form_view")
        self.settle(page, ".modal .o_form_view")

        self.field(dialog, "mode").get_by_text("Mass sending", exact=True).click()
        self.settle(page, f".modal .o_field_widget[name={STATUS_FILTER}]")
        self.field(dialog, STATUS_FILTER).locator("input").check()
        self.settle(page)
        self.select(page, dialog, "channel", CHANNEL)
        template = self.field(dialog, "template_id").locator("input")
        template.fill(TEMPLATE)
        page.locator(".o-autocomplete--dropdown-item", has_text=TEMPLATE).first.click()
        self.settle(page)
        subject = self.field(dialog, "subject").locator("input")
        subject.fill(SUBJECT)
        subject.press("Tab")
        self.settle(page)
        # the document rules are radio buttons: one click
        dialog.locator(
            ".o_field_widget[name=invoice_policy] input[data-value=last_unpaid]"
        ).click()
        self.settle(page)
        page.locator(".modal .modal-body").evaluate("body => body.scrollTo(0, 0)")
        self.shoot(page, "composer")

        dialog.locator(".o_notebook_headers a[name=preview]").click()
        self.settle(page, ".modal .o_field_widget[name=preview_body]")
        dialog.locator(".o_notebook_headers").evaluate(
            "headers => headers.scrollIntoView({block: 'start'})"
        )
        self.settle(page)
        self.shoot(page, "composer_preview")

        page.locator(".modal-footer button[name=action_confirm]").click()
        self.settle(page, ".modal button[name=action_send]")
        self.shoot(page, "composer_confirm")
        sent = self.rpc(
            page, "customer.message", "search_count", [("subject", "=", SUBJECT)]
        )
        if sent and not resend:
            # Sent by an earlier run: the history has it already.
            page.locator(".modal-footer button", has_text="Discard").click()
        else:
            page.locator(".modal button[name=action_send]").click()
        page.locator(".modal .o_form_view").wait_for(state="detached")
        self.settle(page)

    def history(self, page: Page):
        page.goto(f"{self.url}/odoo/customer-messages")
        self.settle(page, ".o_list_view .o_data_row")
        self.shoot(page, "history")

        page.locator(".o_list_view .o_data_row", has_text=LIST_SUBJECT).first.click()
        self.settle(page, ".o_form_view .o_form_sheet")
        self.shoot(page, "message")

        page.locator(".o_notebook_headers a[name=recipients]").click()
        self.settle(page, ".o_field_widget[name=recipient_ids] .o_data_row")
        self.shoot(page, "message_recipients")

        # managers only (admin is one): who, which filter, which template version
        page.locator(".o_notebook_headers a[name=audit]").click()
        self.settle(page, ".o_field_widget[name=template_version]")
        page.locator(".o_notebook").evaluate("notebook => notebook.scrollIntoView()")
        self.shoot(page, "message_audit")

    def open_message(self, page: Page, subject):
        (message_id,) = self.rpc(
            page, "customer.message", "search", [("subject", "=", subject)]
        )
        page.goto(f"{self.url}/odoo/customer-messages/{message_id}")
        self.settle(page, ".o_form_view .o_form_sheet")

    def approval(self, page: Page):
        # the demo's message of a member of staff, waiting for a manager
        self.open_message(page, APPROVAL_SUBJECT)
        self.shoot(page, "message_approval")

    def read_receipts(self, page: Page):
        # the demo's maintenance notice: read by one customer, who is asked
        # to acknowledge it
        self.open_message(page, ACKNOWLEDGE_SUBJECT)
        self.shoot(page, "message_read_receipts")

    def email_log(self, page: Page):
        page.goto(f"{self.url}/odoo/customer-messages-email-log")
        self.settle(page, ".o_list_view .o_data_row")
        self.shoot(page, "email_log")

    def schedules(self, page: Page):
        page.goto(f"{self.url}/odoo/customer-message-schedules")
        self.settle(page, ".o_list_view .o_data_row")
        page.locator(".o_list_view .o_data_row").first.click()
        self.settle(page, ".o_form_view .o_form_sheet")
        self.shoot(page, "recurring_message")

    def rules(self, page: Page):
        # the demo's dunning policy (limited to a reseller without customers:
        # it sends nothing in the demo)
        ids = self.rpc(
            page,
            "customer.message.rule",
            "search",
            [["name", "=", "Dunning of unpaid invoices"]],
        )
        if not ids:
            self.skipped.append("reminder_rule: no demo dunning rule")
            return
        page.goto(f"{self.url}/odoo/customer-message-rules/{ids[0]}")
        self.settle(page, ".o_form_view .o_form_sheet")
        self.shoot(page, "reminder_rule")

    def incidents(self, page: Page):
        # the demo's planned maintenance (archived: it sends nothing)
        (incident_id,) = self.rpc(
            page,
            "customer.incident",
            "search",
            [("name", "=", INCIDENT), ("active", "in", (True, False))],
        )
        page.goto(f"{self.url}/odoo/customer-incidents/{incident_id}")
        self.settle(page, ".o_form_view .o_form_sheet")
        self.shoot(page, "incident")

    # ------------------------------------------------------------------
    # portal
    # ------------------------------------------------------------------

    def portal(self, page: Page):
        self.login(page, "portal", "portal")
        self.visit(page, "/my")
        self.settle(page, ".o_portal_my_home")
        self.shoot(page, "portal_home")

        if self.visit(page, "/my/messages") == 404:
            self.skipped.append(
                "portal_messages, portal_message: /my/messages answers 404"
            )
            return
        self.settle(page, "main")
        self.shoot(page, "portal_messages")

        page.locator("a", has_text=PORTAL_SUBJECT).first.click()
        self.settle(page, "main")
        self.shoot(page, "portal_message")

        self.visit(page, "/my/messages")
        self.settle(page, "main")
        page.locator("a", has_text=ACKNOWLEDGE_SUBJECT).first.click()
        self.settle(page, "main")
        self.shoot(page, "portal_acknowledge")

        self.visit(page, "/my/message-preferences")
        self.settle(page, "main")
        self.shoot(page, "portal_preferences")

    def visit(self, page: Page, path):
        """Open a portal page; its HTTP status (an error other than 404 stops)."""
        response = page.goto(f"{self.url}{path}")
        if response.status >= 400 and response.status != 404:
            raise RuntimeError(f"{path} answers {response.status}")
        return response.status

    # ------------------------------------------------------------------

    def run(self, resend=False):
        check_server(self.url)
        self.output.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            try:
                options = {
                    "viewport": VIEWPORT,
                    "locale": "en-US",
                    "timezone_id": "Europe/Brussels",
                }
                admin = browser.new_context(**options)
                admin.set_default_timeout(TIMEOUT_MS)
                page = self.new_page(admin)
                self.login(page, "admin", "admin")
                self.customers(page)
                self.composer(page, resend=resend)
                self.history(page)
                self.approval(page)
                self.read_receipts(page)
                self.email_log(page)
                self.schedules(page)
                self.rules(page)
                self.incidents(page)
                admin.close()

                customer = browser.new_context(**options)
                customer.set_default_timeout(TIMEOUT_MS)
                self.portal(self.new_page(customer))
                customer.close()
            finally:
                browser.close()
        _logger.info("%d screenshots in %s", len(self.taken), self.output)
        for skipped in self.skipped:
            _logger.warning("skipped: %s", skipped)


def shrink(png):
    """The PNG as is when small enough, else with a palette of 256 colours
    (screens of flat colours lose nothing visible)."""
    if len(png) <= MAX_BYTES:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB")
    buffer = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        buffer, format="PNG", optimize=True
    )
    return buffer.getvalue()


def check_server(url):
    try:
        with urllib.request.urlopen(f"{url}/web/login", timeout=10) as response:
            if response.status == 200:
                return
    except (urllib.error.URLError, OSError) as error:
        sys.exit(f"no Odoo answers on {url}/web/login ({error}): start dev/run first")
    sys.exit(f"{url}/web/login does not answer 200: start dev/run first")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--database", default="customer_messages_demo")
    parser.add_argument("--output", default="docs/screenshots")
    parser.add_argument(
        "--resend",
        action="store_true",
        help="send the message again when the history has it from an earlier run",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        Screenshots(args.url, args.database, args.output).run(resend=args.resend)
    except (PlaywrightError, RuntimeError) as error:
        sys.exit(f"screenshots failed: {error}")


if __name__ == "__main__":
    main()
