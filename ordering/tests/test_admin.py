# ruff: noqa: F811 - pytest fixtures imported from ordering.tests.fixtures
"""The bad-cart queue in admin, as store staff work it: open the case, decide each unknown line
(map to a product by SKU or scan code, price by hand, drop), then price and settle."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from core.roles import roles_sync
from ordering.enums import BadCartStatus, LineResolution
from ordering.models import BadCartCase, CartSubmission, Purchase
from ordering.tests.fixtures import business_time, shop  # noqa: F401 - fixtures
from ordering.tests.payloads import PATH, cart, item
from trips.enums import TripState

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client, shop):
    roles_sync()
    user = User.objects.create_user("sam", password="not-used", is_staff=True)
    user.groups.add(Group.objects.get(name="Store staff"))
    return user


@pytest.fixture
def case(amazon_client, shop) -> BadCartCase:
    body = cart(
        "STORE-001",
        [item("SKU-001"), item("NEW-LABEL", lineItemId="x"), item("GONE", lineItemId="y")],
    )
    amazon_client.post_signed(PATH, body)
    return BadCartCase.objects.get()


def test_staff_work_the_queue_from_decision_to_settlement(client, staff, case):
    client.force_login(staff)
    lines = {line.line_key: line for line in case.purchase.lines.all()}
    decide = lambda key: reverse("admin:ordering_badcartcase_decide", args=[case.pk, lines[key].pk])  # noqa: E731

    queue = client.get(reverse("admin:ordering_badcartcase_changelist"))
    detail = client.get(reverse("admin:ordering_badcartcase_change", args=[case.pk]))
    mapped = client.post(
        decide("x"), {"resolution": LineResolution.MAPPED, "product": "0049000042566"}
    )
    dropped = client.post(decide("y"), {"resolution": LineResolution.DROPPED, "note": "not ours"})
    confirm = client.get(reverse("admin:ordering_badcartcase_settle", args=[case.pk]))
    settled = client.post(reverse("admin:ordering_badcartcase_settle", args=[case.pk]))

    assert queue.status_code == detail.status_code == 200
    assert case.purchase.purchase_id.encode() in queue.content
    assert b"decide</a>" in detail.content and b"Would cost now" in detail.content
    assert mapped.status_code == dropped.status_code == 302
    assert b"5.48 USD" in confirm.content  # 3.49 + 1.99 (the scan code is SKU-COLA)
    assert settled.status_code == 302
    case.refresh_from_db()
    assert case.status == BadCartStatus.RESOLVED
    assert case.closed_by.endswith(":sam")
    assert case.trip.state == TripState.PRICED
    assert Purchase.objects.get().total == Decimal("5.48")


def test_mapping_to_an_unknown_product_shows_the_problem(client, staff, case):
    client.force_login(staff)
    line = case.purchase.lines.get(line_key="x")

    response = client.post(
        reverse("admin:ordering_badcartcase_decide", args=[case.pk, line.pk]),
        {"resolution": LineResolution.MAPPED, "product": "NOPE"},
    )

    assert response.status_code == 200
    assert b"no product has this SKU or scan code" in response.content


def test_settling_with_lines_undecided_is_refused_with_a_message(client, staff, case):
    client.force_login(staff)

    response = client.post(reverse("admin:ordering_badcartcase_settle", args=[case.pk]))

    assert response.status_code == 200
    assert b"still need a decision" in response.content
    assert BadCartCase.objects.get().status == BadCartStatus.OPEN


def test_auditors_may_look_but_not_decide(client, case):
    roles_sync()
    auditor = User.objects.create_user("ann", password="not-used", is_staff=True)
    auditor.groups.add(Group.objects.get(name="Auditors"))
    client.force_login(auditor)
    line = case.purchase.lines.get(line_key="x")

    look = client.get(reverse("admin:ordering_badcartcase_change", args=[case.pk]))
    decide = client.post(
        reverse("admin:ordering_badcartcase_decide", args=[case.pk, line.pk]),
        {"resolution": LineResolution.DROPPED},
    )

    assert look.status_code == 200
    assert decide.status_code == 403


def test_purchases_and_received_carts_are_read_only_history(client, staff, case):
    client.force_login(staff)
    purchase = Purchase.objects.get()
    submission = CartSubmission.objects.get()

    pages = [
        reverse("admin:ordering_purchase_changelist"),
        reverse("admin:ordering_purchase_change", args=[purchase.pk]),
        reverse("admin:ordering_cartsubmission_change", args=[submission.pk]),
    ]

    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
    assert purchase.purchase_id.encode() in client.get(pages[2]).content
    assert (
        client.post(reverse("admin:ordering_purchase_change", args=[purchase.pk]), {}).status_code
        == 403
    )
