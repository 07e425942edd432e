"""Staff in admin: a payment taken by phone, write-off maker-checker, disputes, metrics, CSV."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from debt.enums import DebtState, DisputeStatus, WriteOffStatus
from debt.models import DebtDispute, DebtPayment, DebtPolicy, ReconciliationRun, WriteOffRequest
from debt.tests.helpers import make_staff, record_shortfall

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def finance(client):
    return _login(client, make_staff("finance-1", "Finance"))


def _key(page) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', page.content.decode()).group(1)


def test_phone_payment_form_records_one_payment_even_when_submitted_twice(finance):
    debt = record_shortfall(total="23.47", settled="15.00")
    url = reverse("admin:debt_payoff", args=[debt.shopper_identity_id, "USD"])
    page = finance.get(url + f"?debt={debt.pk}")
    assert page.status_code == 200
    assert "8.47 USD" in page.content.decode()
    form = {"idempotency_key": _key(page), "amount": "8.47", "external_reference": "AUTH-77"}

    first = finance.post(url, form)
    second = finance.post(url, form)

    assert first.status_code == second.status_code == 302
    payment = DebtPayment.objects.get()
    assert first["Location"] == second["Location"]
    assert (payment.amount, payment.external_reference, payment.method) == (
        Decimal("8.47"),
        "AUTH-77",
        "STAFF_PHONE",
    )
    assert payment.actor.startswith("user:") and payment.actor.endswith(":finance-1")
    debt.refresh_from_db()
    assert debt.state == DebtState.RECOVERED


def test_phone_payment_above_the_balance_shows_the_reason_and_records_nothing(finance):
    debt = record_shortfall(total="5.00")
    url = reverse("admin:debt_payoff", args=[debt.shopper_identity_id, "USD"])
    page = finance.get(url)
    response = finance.post(url, {"idempotency_key": _key(page), "amount": "5.01"})
    assert response.status_code == 200
    assert "exceeds what is owed" in response.content.decode()
    assert not DebtPayment.objects.exists()


def test_store_staff_cannot_take_payments_or_request_write_offs(client):
    debt = record_shortfall(total="5.00")
    _login(client, make_staff("staff-1", "Store staff"))
    assert (
        client.get(reverse("admin:debt_payoff", args=[debt.shopper_identity_id, "USD"])).status_code
        == 403
    )
    assert client.get(reverse("admin:debt_write_off", args=[debt.pk])).status_code == 403


def test_write_off_is_requested_by_one_and_approved_by_another_in_admin(client):
    debt = record_shortfall(total="30.00")
    maker = make_staff("maker", "Finance")
    checker = make_staff("checker", "Finance")
    _login(client, maker)
    response = client.post(
        reverse("admin:debt_write_off", args=[debt.pk]),
        {"reason_code": "UNCOLLECTABLE", "note": "four reminders, no answer"},
    )
    assert response.status_code == 302
    request = WriteOffRequest.objects.get()
    changelist = reverse("admin:debt_writeoffrequest_changelist")
    action = {"action": "approve", "_selected_action": [request.pk]}

    refused = client.post(changelist, action, follow=True)
    assert "cannot approve their own" in refused.content.decode()
    request.refresh_from_db()
    assert request.status == WriteOffStatus.PENDING

    _login(client, checker)
    client.post(changelist, action, follow=True)
    request.refresh_from_db()
    assert request.status == WriteOffStatus.APPROVED and request.decided_by == checker
    debt.refresh_from_db()
    assert debt.state == DebtState.WRITTEN_OFF


def test_dispute_opened_and_resolved_in_admin(finance):
    debt = record_shortfall(total="30.00")
    assert (
        finance.post(
            reverse("admin:debt_dispute", args=[debt.pk]), {"statement": "shopper called"}
        ).status_code
        == 302
    )
    dispute = DebtDispute.objects.get()
    response = finance.post(
        reverse("admin:debt_dispute_resolve", args=[dispute.pk]),
        {"upheld": "yes", "reason": "PRICE_ERROR", "reversed_amount": "10.00", "note": ""},
    )
    assert response.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == DisputeStatus.UPHELD and dispute.reversed_amount == Decimal("10.00")
    debt.refresh_from_db()
    assert debt.outstanding_amount == Decimal("20.00") and debt.state == DebtState.OPEN


def test_debt_pages_show_the_ledger_and_the_staff_actions(finance):
    debt = record_shortfall(total="30.00", settled="10.00")
    page = finance.get(reverse("admin:debt_debt_change", args=[debt.pk])).content.decode()
    assert "INCURRED" in page and "Record a phone payment" in page and "Request a write-off" in page
    assert "total 30.00 / settled 10.00 USD" in page
    standings = finance.get(reverse("admin:debt_shopperstanding_changelist")).content.decode()
    assert debt.shopper_identity_id in standings and "NOTICE" in standings


def test_metrics_page_and_csv_export(finance):
    record_shortfall(total="30.00", settled="10.00", root_cause="PARTIAL_CAPTURE")
    record_shortfall(total="12.00", root_cause="PREAUTH_EXPIRED")
    page = finance.get(reverse("admin:debt_metrics"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Aging of what is owed" in text and "PREAUTH_EXPIRED" in text

    export = finance.get(reverse("admin:debt_metrics") + "?format=csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["section", "key", "currency", "figure", "value"]
    assert ["aging", "0-7", "USD", "amount", "32.00"] in rows
    assert ["total", "all", "USD", "revenue", "42.00"] in rows
    assert ["total", "all", "USD", "bad_debt_share", "0.7619"] in rows


def test_debts_csv_export_action(finance):
    debt = record_shortfall(total="30.00", settled="10.00")
    response = finance.post(
        reverse("admin:debt_debt_changelist"),
        {"action": "export_csv", "_selected_action": [debt.pk]},
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][:4] == [
        str(debt.pk),
        debt.store.store_id,
        debt.trip.shopping_trip_id,
        debt.shopper_identity_id,
    ]


def test_only_the_finance_lead_edits_the_debt_policy(client):
    DebtPolicy.objects.create(currency="USD")
    url = reverse("admin:debt_debtpolicy_change", args=[DebtPolicy.objects.get().pk])
    _login(client, make_staff("fin", "Finance"))
    assert client.post(url, {}).status_code == 403
    _login(client, make_staff("lead", "Finance lead"))
    assert client.get(url).status_code == 200


def test_reconciliation_can_be_run_from_admin(finance):
    record_shortfall(total="30.00")
    response = finance.post(reverse("admin:debt_reconcile_now"))
    assert response.status_code == 302
    assert ReconciliationRun.objects.get().differences_found >= 0
