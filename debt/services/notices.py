"""Emails to shoppers about their debt: balance notice, reminders, cleared confirmation.

A notice row and an outbox message are written in the business change's transaction
(``notice_enqueue``); the outbox handler (kind ``debt.send_notice``) then asks Amazon for the
email (Get Shopper Identity, §3.6), renders and sends with no transaction open, and records the
outcome. The address lives only in memory during the send: never stored, never logged.
Delivery is at least once: a process that dies between the send and the record sends again
(same Message-ID, so mail systems can fold the duplicate).
"""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, mailers, make_msgid
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from core.alerts import alert_raise
from core.clock import now as business_now
from core.models import OutboxMessage
from core.outbox import OutboxHandler, RetryLater, full_jitter_backoff, outbox_enqueue

from ..enums import DebtState, EscalationLevel, NoticeKind, NoticeStatus
from ..models import Debt, DebtNotice, ShopperStanding
from ..ports import LookupFailed, LookupRetryable, shopper_email_lookup
from ..selectors import last_notice_at, payable_debts
from ..transitions import notice_transition
from .policy import debt_policy_for

logger = logging.getLogger(__name__)

SEND_NOTICE = "debt.send_notice"
MAX_ATTEMPTS = 6
PAY_LINK_SALT = "debt.pay-link"
SUBJECTS = {
    NoticeKind.BALANCE: "Your recent visit to {store} was not paid in full",
    NoticeKind.REMINDER: "Reminder: you have an unpaid balance with {store}",
    NoticeKind.CLEARED: "Thank you: your balance with {store} is cleared",
}


def notice_enqueue(
    *,
    kind: str,
    key: str,
    identity_id: str,
    currency: str,
    store,
    debt: Debt | None = None,
    payment=None,
) -> DebtNotice:
    """Record a notice and queue its sending, in the caller's transaction. Same key → no-op."""
    at = business_now()
    try:
        with transaction.atomic():
            notice = DebtNotice.objects.create(
                key=key,
                kind=kind,
                identity_id=identity_id,
                currency=currency,
                store=store,
                debt=debt,
                payment=payment,
                created_at=at,
            )
    except IntegrityError:
        return DebtNotice.objects.get(key=key)
    outbox_enqueue(
        kind=SEND_NOTICE,
        key=f"debt-notice:{notice.pk}",
        payload={"notice_id": notice.pk},
        store_ref=store.store_id,
        trip_ref=debt.trip.shopping_trip_id if debt is not None else "",
    )
    return notice


def pay_link(*, identity_id: str, currency: str) -> str:
    """The portal's pay page with a signed token naming the shopper (verified by the portal)."""
    token = signing.dumps({"i": identity_id, "c": currency}, salt=PAY_LINK_SALT, compress=True)
    return f"{settings.DEBT_PORTAL_PAY_URL}?t={token}"


def pay_link_read(*, token: str, max_age_days: int = 60) -> tuple[str, str] | None:
    try:
        data = signing.loads(token, salt=PAY_LINK_SALT, max_age=timedelta(days=max_age_days))
    except signing.BadSignature:
        return None
    return data["i"], data["c"]


def _context(notice: DebtNotice) -> dict:
    debts = list(
        payable_debts(
            identity_id=notice.identity_id, currency=notice.currency, include_disputed=True
        )
    )
    lines = [
        {
            "date": (debt.trip.preauth_at or debt.incurred_at).date(),
            "store": debt.store.name,
            "amount": debt.outstanding_amount + debt.written_off_amount,
            "disputed": debt.state == DebtState.DISPUTED,
        }
        for debt in debts
    ]
    total = sum((line["amount"] for line in lines if not line["disputed"]), Decimal("0"))
    return {
        "kind": notice.kind,
        "store": notice.store.name,
        "currency": notice.currency,
        "lines": lines,
        "total": total,
        "disputed_total": sum((line["amount"] for line in lines if line["disputed"]), Decimal("0")),
        "pay_url": pay_link(identity_id=notice.identity_id, currency=notice.currency),
        "payment": notice.payment,
    }


def _still_relevant(notice: DebtNotice, total: Decimal) -> bool:
    if notice.kind == NoticeKind.CLEARED:
        return True
    if notice.kind == NoticeKind.BALANCE and notice.debt is not None:
        notice.debt.refresh_from_db(fields=["state", "outstanding_amount"])
        if notice.debt.outstanding_amount <= 0:
            return False
    return total > 0


def notice_send(message: OutboxMessage) -> dict:
    """Outbox handler: look up the address, render, send. No transaction is open here."""
    notice = (
        DebtNotice.objects.select_related("store", "debt", "payment")
        .filter(pk=message.payload["notice_id"])
        .first()
    )
    if notice is None or notice.status != NoticeStatus.PENDING:
        return {"outcome": "ALREADY_DONE"}
    context = _context(notice)
    if not _still_relevant(notice, context["total"]):
        return {"outcome": NoticeStatus.SKIPPED}
    try:
        email = shopper_email_lookup().shopper_email(
            store_id=notice.store.store_id, identity_id=notice.identity_id
        )
    except LookupRetryable as error:
        return _retry_or_fail(message, error.reason, error.retry_after)
    except LookupFailed as error:
        return {"outcome": NoticeStatus.FAILED, "error": f"identity lookup: {error.reason}"}
    if not email:
        return {"outcome": NoticeStatus.NO_EMAIL}
    message_id = make_msgid(idstring=f"debt-notice-{notice.pk}", domain="jwo-store.invalid")
    subject = SUBJECTS[notice.kind].format(store=notice.store.name)
    text = render_to_string(f"debt/email/{notice.kind.lower()}.txt", context)
    html = render_to_string(f"debt/email/{notice.kind.lower()}.html", context)
    mail = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
        headers={"Message-ID": message_id},
    )
    mail.attach_alternative(html, "text/html")
    try:
        mailers.default.send_messages([mail])
    except (smtplib.SMTPException, OSError) as error:
        return _retry_or_fail(message, f"send: {type(error).__name__}", None)
    return {
        "outcome": NoticeStatus.SENT,
        "message_id": message_id,
        "balance": str(context["total"]),
    }


def _retry_or_fail(message: OutboxMessage, reason: str, retry_after: float | None) -> dict:
    if message.attempts >= MAX_ATTEMPTS:
        return {"outcome": NoticeStatus.FAILED, "error": reason}
    wait = retry_after or full_jitter_backoff(message.attempts, base=30.0, cap=3600.0)
    raise RetryLater(wait, status="RETRY", detail=reason)


def notice_record_outcome(message: OutboxMessage, result: dict) -> None:
    """Outbox success hook (inside the transaction that closes the message)."""
    outcome = result.get("outcome")
    if outcome not in NoticeStatus.values:
        return
    notice = DebtNotice.objects.filter(pk=message.payload["notice_id"]).first()
    if notice is None or notice.status != NoticeStatus.PENDING:
        return
    updates = {"attempts": message.attempts}
    if outcome == NoticeStatus.SENT:
        updates.update(
            sent_at=business_now(),
            message_id=result["message_id"],
            balance_amount=Decimal(result["balance"]),
        )
    if outcome == NoticeStatus.FAILED:
        updates["last_error"] = result.get("error", "")[:200]
    notice_transition(notice_pk=notice.pk, to_status=outcome, actor="system:debt-mail", **updates)
    if outcome == NoticeStatus.FAILED:
        _alert_failed(notice, updates["last_error"])


def notice_record_dead(message: OutboxMessage) -> None:
    notice = DebtNotice.objects.filter(pk=message.payload["notice_id"]).first()
    if notice is not None and notice.status == NoticeStatus.PENDING:
        notice_transition(
            notice_pk=notice.pk,
            to_status=NoticeStatus.FAILED,
            actor="system:debt-mail",
            attempts=message.attempts,
            last_error=message.last_error[:200],
        )
        _alert_failed(notice, message.last_error)


def _alert_failed(notice: DebtNotice, reason: str) -> None:
    alert_raise(
        key=f"debt-notice-failed:{notice.pk}",
        kind="debt_notice_failed",
        message=f"debt {notice.kind.lower()} notice {notice.pk} could not be sent: {reason}",
        context={"notice": notice.pk},
    )


def notice_bounce(*, message_id: str, actor: str) -> DebtNotice | None:
    """A bounce report from the mail provider (or an operator) for a sent notice."""
    notice = DebtNotice.objects.filter(message_id=message_id, status=NoticeStatus.SENT).first()
    if notice is None:
        return None
    notice = notice_transition(notice_pk=notice.pk, to_status=NoticeStatus.BOUNCED, actor=actor)
    alert_raise(
        key=f"debt-notice-bounced:{notice.pk}",
        kind="debt_notice_bounced",
        message=f"debt notice {notice.pk} bounced: the shopper's address on file does not work",
        context={"notice": notice.pk},
    )
    return notice


def notice_retry(*, notice_id: int, actor: str) -> DebtNotice:
    """Operator action: send a failed notice again."""
    with transaction.atomic():
        notice = notice_transition(
            notice_pk=notice_id, to_status=NoticeStatus.PENDING, actor=actor, last_error=""
        )
        outbox_enqueue(
            kind=SEND_NOTICE,
            key=f"debt-notice:{notice.pk}:retry:{notice.attempts}:{business_now().timestamp()}",
            payload={"notice_id": notice.pk},
            store_ref=notice.store.store_id,
        )
    return notice


def reminders_due(*, limit: int = 2000) -> dict[str, int]:
    """Beat sweep: queue a reminder for every shopper still owing, on the policy's schedule."""
    now = business_now()
    created = 0
    standings = (
        ShopperStanding.objects.filter(unpaid_trips__gt=0)
        .exclude(escalation_level=EscalationLevel.NONE)
        .order_by("pk")[:limit]
    )
    for standing in standings:
        policy = debt_policy_for(currency=standing.currency)
        debts = payable_debts(
            identity_id=standing.identity_id,
            currency=standing.currency,
            include_disputed=not policy.dispute_pauses_reminders,
        ).filter(state__in=[DebtState.OPEN, DebtState.DISPUTED])
        newest = debts.order_by("-incurred_at").first()
        if newest is None or standing.oldest_unpaid_at is None:
            continue
        last = last_notice_at(identity_id=standing.identity_id, currency=standing.currency)
        if last is not None and now - last < timedelta(days=policy.reminder_interval_days):
            continue
        sent = DebtNotice.objects.filter(
            identity_id=standing.identity_id,
            currency=standing.currency,
            kind=NoticeKind.REMINDER,
            created_at__gte=standing.oldest_unpaid_at,
        ).count()
        if sent >= policy.max_reminders:
            continue
        epoch = int(standing.oldest_unpaid_at.timestamp())
        with transaction.atomic():
            notice_enqueue(
                kind=NoticeKind.REMINDER,
                key=f"reminder:{standing.identity_id}:{standing.currency}:{epoch}:{sent + 1}",
                identity_id=standing.identity_id,
                currency=standing.currency,
                store=newest.store,
            )
        created += 1
    return {"reminders": created}


NOTICE_HANDLER = OutboxHandler(
    kind=SEND_NOTICE,
    send=notice_send,
    on_success=notice_record_outcome,
    on_dead=notice_record_dead,
    queue="outbox",
    lease_seconds=120,
)
