"""Notifications: the email comes from Get Shopper Identity (the simulator serves it from the
shopper's profile) at send time; every message is recorded; failures and bounces are visible;
reminders follow the policy's schedule on the business clock; no address is stored or logged."""

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from core import clock
from core.models import Alert, OutboxMessage, OutboxStatus
from core.outbox import outbox_deliver
from debt.enums import DisputeSource, NoticeKind, NoticeStatus, PaymentMethod
from debt.models import DebtNotice
from debt.services.disputes import dispute_open
from debt.services.notices import SEND_NOTICE, notice_bounce, pay_link_read, reminders_due
from debt.services.recovery import debt_payoff
from debt.tests.helpers import record_shortfall
from tests.factories import make_shopper, make_store

pytestmark = pytest.mark.django_db

EMAIL = "pat.shopper@example.com"


def _deliver_notices() -> list[str]:
    due = OutboxMessage.objects.filter(
        kind=SEND_NOTICE, status=OutboxStatus.PENDING, next_attempt_at__lte=clock.now()
    ).order_by("pk")
    return [outbox_deliver(message_id=pk) for pk in due.values_list("pk", flat=True)]


def _setup(sim, email=EMAIL):
    store = make_store(name="Corner Market")
    shopper = make_shopper()
    sim.set_store(store.store_id)
    sim.set_shopper(
        shopper.identity_id, profile="APPROVE_ALL", **({"email": email} if email else {})
    )
    return store, shopper


def test_balance_notice_is_sent_to_the_address_amazon_gives_and_only_its_outcome_is_kept(
    sim, caplog
):
    store, shopper = _setup(sim)
    caplog.set_level(logging.DEBUG)

    debt = record_shortfall(total="23.47", settled="15.00", shopper=shopper, store=store)
    assert _deliver_notices() == ["succeeded"]

    notice = DebtNotice.objects.get(debt=debt, kind=NoticeKind.BALANCE)
    assert notice.status == NoticeStatus.SENT
    assert notice.balance_amount == Decimal("8.47")
    assert notice.message_id
    [message] = mail.outbox
    assert message.to == [EMAIL]
    assert "8.47 USD" in message.body and "Corner Market" in message.subject
    assert message.extra_headers["Message-ID"] == notice.message_id
    link = next(word for word in message.body.split() if word.startswith("http"))
    assert pay_link_read(token=link.split("?t=")[1]) == (shopper.identity_id, "USD")
    html = message.alternatives[0].content
    assert "Pay 8.47 USD" in html
    # The address is nowhere in our rows or logs.
    outbox = OutboxMessage.objects.get(kind=SEND_NOTICE)
    stored = f"{notice.__dict__} {outbox.payload} {outbox.result} {outbox.last_error}"
    assert EMAIL not in stored
    assert EMAIL not in caplog.text


def test_no_email_on_file_is_recorded_and_nothing_is_sent(sim):
    store, shopper = _setup(sim, email=None)
    debt = record_shortfall(total="5.00", shopper=shopper, store=store)
    _deliver_notices()
    assert DebtNotice.objects.get(debt=debt).status == NoticeStatus.NO_EMAIL
    assert mail.outbox == []


def test_identity_lookup_unavailable_is_retried_later(sim):
    store, shopper = _setup(sim)
    sim.faults(script=[{"path": "/v1/identity/shopper", "status": 503}])
    debt = record_shortfall(total="5.00", shopper=shopper, store=store)

    assert _deliver_notices() == ["retry"]
    assert DebtNotice.objects.get(debt=debt).status == NoticeStatus.PENDING
    with clock.override(clock.wall_now() + timedelta(hours=2)):
        assert _deliver_notices() == ["succeeded"]
    assert DebtNotice.objects.get(debt=debt).status == NoticeStatus.SENT
    assert len(mail.outbox) == 1


def test_mail_server_down_fails_the_notice_visibly_after_the_retries(sim, settings):
    store, shopper = _setup(sim)
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": 9, "timeout": 2},
        }
    }
    debt = record_shortfall(total="5.00", shopper=shopper, store=store)
    outcomes = []
    for hours in range(1, 12):
        with clock.override(clock.wall_now() + timedelta(hours=hours)):
            outcomes += _deliver_notices()
    assert outcomes[-1] == "succeeded" and set(outcomes[:-1]) == {"retry"}
    notice = DebtNotice.objects.get(debt=debt)
    assert notice.status == NoticeStatus.FAILED
    assert notice.last_error.startswith("send: ")
    assert Alert.objects.filter(kind="debt_notice_failed").exists()


def test_bounce_is_recorded_and_alerted(sim):
    store, shopper = _setup(sim)
    debt = record_shortfall(total="5.00", shopper=shopper, store=store)
    _deliver_notices()
    notice = DebtNotice.objects.get(debt=debt)

    notice_bounce(message_id=notice.message_id, actor="mail-provider")

    notice.refresh_from_db()
    assert notice.status == NoticeStatus.BOUNCED
    assert Alert.objects.filter(kind="debt_notice_bounced").exists()


def test_reminders_follow_the_schedule_and_stop_at_the_maximum(sim):
    store, shopper = _setup(sim)
    start = clock.wall_now()
    with clock.override(start):
        record_shortfall(total="9.00", shopper=shopper, store=store)
    sent_on = []
    for day in range(1, 40):
        with clock.override(start + timedelta(days=day)):
            if reminders_due()["reminders"]:
                sent_on.append(day)
            _deliver_notices()
    assert sent_on == [7, 14, 21, 28]  # every 7 days, at most 4 (policy defaults)
    reminders = DebtNotice.objects.filter(kind=NoticeKind.REMINDER)
    assert {notice.status for notice in reminders} == {NoticeStatus.SENT}
    assert "still owe 9.00 USD" in mail.outbox[-1].body


def test_open_dispute_pauses_reminders(sim):
    store, shopper = _setup(sim)
    start = clock.wall_now()
    with clock.override(start):
        debt = record_shortfall(total="9.00", shopper=shopper, store=store)
        dispute_open(debt_id=debt.pk, source=DisputeSource.SHOPPER, opened_by="shopper")
    with clock.override(start + timedelta(days=8)):
        assert reminders_due() == {"reminders": 0}


def test_cleared_confirmation_after_payoff_and_balance_notice_skipped_if_already_paid(sim):
    store, shopper = _setup(sim)
    record_shortfall(total="9.00", shopper=shopper, store=store)
    debt_payoff(
        identity_id=shopper.identity_id,
        currency="USD",
        amount=Decimal("9.00"),
        method=PaymentMethod.STAFF_PHONE,
        idempotency_key="phone-1",
        actor="user:1:clerk",
    )
    _deliver_notices()
    statuses = dict(DebtNotice.objects.values_list("kind", "status"))
    assert statuses == {
        NoticeKind.BALANCE: NoticeStatus.SKIPPED,
        NoticeKind.CLEARED: NoticeStatus.SENT,
    }
    [message] = mail.outbox
    assert "owe nothing" in message.body.replace("\n", " ")
