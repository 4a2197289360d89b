from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain

THRESHOLD = "customer_messages.approval_threshold"
MANAGER_GROUP = "customer_messages.customer_messages_group_manager"


class CustomerMessage(models.Model):
    """Four-eyes approval: a message staff send to more customers than
    ``customer_messages.approval_threshold`` (0: never) waits, *Waiting for
    approval*, until a Messages / Manager other than its author approves it
    (it is then queued) or rejects it (it is cancelled). The managers are
    notified of the request and the author of the decision, in the
    message's chatter."""

    _inherit = "customer.message"

    approved_uid = fields.Many2one(
        "res.users", string="Approved by", readonly=True, copy=False
    )
    approved_date = fields.Datetime(string="Approved on", readonly=True, copy=False)
    configured_uid = fields.Many2one(
        "res.users",
        string="Set up by",
        default=lambda self: self.env.user,
        readonly=True,
        copy=False,
        help="Who set this send up: the sender, or who last configured the "
        "recurring message, incident, reminder rule or server action that "
        "sent it. Approval depends on them, not on the process that sends.",
    )

    @api.model
    def _get_approval_threshold(self):
        """Staff's messages to more customers than this wait for a manager's
        approval (0: none does)."""
        return int(self.env["ir.config_parameter"].sudo().get_param(THRESHOLD, 0))

    def _needs_approval(self):
        """The one approval gate: whether this message must be approved
        before it is sent. Only messages of a category that requires
        approval, or to more customers than the threshold, ever wait (never
        tests, nor the fallback of a message already let through). Then a
        direct send (the composer, code run by a user) waits whoever sends
        it, managers included (four eyes); a send set up beforehand (a
        recurring message's run, an incident's notice, a reminder rule, a
        server action) waits unless the user who set it up
        (``configured_uid``, recorded by the system) is a Messages / Manager
        or an administrator, whatever process runs it. Extension point."""
        self.ensure_one()
        if self.origin == "test" or not self.pending_count or self.fallback_of_id:
            return False
        threshold = self._get_approval_threshold()
        if not (
            self.category_id.requires_approval or 0 < threshold < self.pending_count
        ):
            return False
        if self._is_direct_send():
            return True
        return not self.env["customer.message.setup.mixin"]._is_setup_trusted(
            self.configured_uid
        )

    def _is_direct_send(self):
        """Hook: whether this message was sent directly by its author (the
        composer, code run by a user), rather than by something set up
        beforehand (the incident package's notices, automation...)."""
        self.ensure_one()
        return self.origin == "manual"

    def _request_approval(self):
        """Hold the message and tell the managers."""
        managers = self.env["res.users"].search(
            Domain("all_group_ids", "in", self.env.ref(MANAGER_GROUP).id)
            & Domain("company_ids", "in", self.company_id.id)
            & Domain("id", "!=", self.author_id.id)
        )
        for message in self:
            message.state = "to_approve"
            # sudo: the system writes the history (see customer_message.py)
            message.sudo()._post_decision_note(
                body=self.env._(
                    "%(author)s asks for approval to send this message to "
                    "%(count)s customers.",
                    author=message.author_id.name,
                    count=message.pending_count,
                ),
                partner_ids=managers.partner_id.ids,
            )

    def _post_decision_note(self, body, partner_ids):
        """A note in the message's chatter for the managers or the author,
        whose emails go through Odoo's mail queue, its cron woken at once:
        Approve, Reject and Send answer without waiting for an SMTP server
        (Odoo sends the notification emails of a post during the request
        otherwise)."""
        self.ensure_one()
        self.with_context(mail_notify_force_send=False).message_post(
            body=body, partner_ids=partner_ids, subtype_xmlid="mail.mt_note"
        )
        # sudo: Odoo's mail queue is woken for whoever posts
        self.env.ref("mail.ir_cron_mail_scheduler_action").sudo()._trigger()

    def _check_approver(self):
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only a Messages / Manager may approve or reject messages.")
            )
        if not self.filtered(lambda m: m.state == "to_approve"):
            raise UserError(self.env._("This message is not waiting for approval."))
        if self.env.user in self.author_id:
            raise UserError(
                self.env._("Another manager approves what you send: four eyes.")
            )

    def action_approve(self):
        """Send it: the message is queued for the cron."""
        self.check_access("read")
        self._check_approver()
        messages = self.sudo().filtered(lambda m: m.state == "to_approve")
        messages.write(
            {
                "state": "new",
                "approved_uid": self.env.uid,
                "approved_date": fields.Datetime.now(),
            }
        )
        for message in messages:
            message._post_decision_note(
                body=self.env._(
                    "Approved by %(user)s: queued for sending.",
                    user=self.env.user.name,
                ),
                partner_ids=message.author_id.partner_id.ids,
            )
        messages._action_queue(process="cron")
        return True

    def action_reject(self):
        """Do not send it: the message is cancelled with the reason."""
        self.check_access("read")
        self._check_approver()
        messages = self.sudo().filtered(lambda m: m.state == "to_approve")
        messages._cancel(self.env._("Rejected by %(user)s", user=self.env.user.name))
        for message in messages:
            message._post_decision_note(
                body=self.env._("Rejected by %(user)s.", user=self.env.user.name),
                partner_ids=message.author_id.partner_id.ids,
            )
        return True
