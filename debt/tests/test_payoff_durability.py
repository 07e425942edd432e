"""A payoff is atomic with its report to Amazon: a process killed right after COMMIT loses
nothing; the outbox delivers the report and Amazon's book is cleared (AE-7.16)."""

import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from core.models import OutboxMessage, OutboxStatus
from debt.models import DebtPayment
from debt.tests.helpers import record_shortfall
from debt.tests.sim_flow import deliver_reports, sim_trip
from tests.factories import make_shopper, make_store
from trips.models import PaymentStatusReport
from trips.services.payment_status import REPORT_PAYMENT_STATUS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from decimal import Decimal
    import django
    django.setup()
    from django.db import transaction
    from debt.services.recovery import debt_payoff

    with transaction.atomic():
        # Runs first after COMMIT, before the outbox's own enqueue: the process dies there.
        transaction.on_commit(lambda: os.kill(os.getpid(), signal.SIGKILL))
        debt_payoff(
            identity_id=sys.argv[1], currency="USD", amount=Decimal(sys.argv[2]),
            method="STAFF_PHONE", idempotency_key="phone-kill", actor="user:1:clerk",
        )
    print("not reached")
    """
)


def test_payoff_survives_the_process_dying_right_after_commit(sim):
    store, shopper = make_store(), make_shopper()
    sim.set_store(store.store_id, faMode="AMAZON_MANAGED")
    debt = record_shortfall(trip=sim_trip(sim, store, shopper, total="30.00"), total="30.00")
    deliver_reports()
    assert sim.balances(shopper.identity_id)[0]["amount"] == Decimal("30.00")

    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jwo_store.settings.test",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, shopper.identity_id, "30.00"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert child.returncode == -9, child.stderr[-2000:]
    assert "not reached" not in child.stdout
    payment = DebtPayment.objects.get(idempotency_key="phone-kill")
    report = PaymentStatusReport.objects.filter(trip=debt.trip).latest("sequence")
    assert (report.total_amount, report.settled_amount) == (Decimal("30.00"), Decimal("30.00"))
    message = OutboxMessage.objects.get(kind=REPORT_PAYMENT_STATUS, key=report.outbox_key)
    assert message.status == OutboxStatus.PENDING and message.attempts == 0
    assert sim.balances(shopper.identity_id)[0]["amount"] == Decimal("30.00")

    assert deliver_reports() == ["succeeded"]  # what the beat sweep's worker does

    assert sim.balances(shopper.identity_id) == []
    assert payment.applied_amount == Decimal("30.00")
