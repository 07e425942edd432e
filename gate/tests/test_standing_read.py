"""The gate's balance lookup, ``debt.selectors.shopper_standing``: a raw prepared read that
returns the same row and the same model instance as the ORM, in autocommit and in a transaction,
and survives a session that forgot its prepared statements."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction

from core import clock
from debt.models import ShopperStanding
from debt.selectors import shopper_standing


def _fields(standing: ShopperStanding) -> dict:
    return {f.attname: getattr(standing, f.attname) for f in ShopperStanding._meta.concrete_fields}


@pytest.fixture
def standing():
    return ShopperStanding.objects.create(
        identity_id="shopper-standing-1",
        currency="USD",
        outstanding_amount=Decimal("12.34"),
        blocking_amount=Decimal("12.34"),
        unpaid_trips=2,
        oldest_unpaid_at=clock.now() - timedelta(hours=30),
        escalation_level="NOTICE",
    )


def _check(standing: ShopperStanding) -> None:
    found = shopper_standing(identity_id="shopper-standing-1", currency="USD")
    assert isinstance(found, ShopperStanding)
    assert _fields(found) == _fields(ShopperStanding.objects.get(pk=standing.pk))
    assert found.blocks_entry and not found._state.adding and found._state.db == "default"
    assert shopper_standing(identity_id="shopper-standing-1", currency="EUR") is None
    assert shopper_standing(identity_id="someone-else", currency="USD") is None


@pytest.mark.django_db(transaction=True)
def test_prepared_read_in_autocommit_matches_the_orm(standing):
    _check(standing)
    with connection.cursor() as cursor:
        cursor.execute("DISCARD ALL")  # a pooler or an admin dropped the prepared statement
    _check(standing)


@pytest.mark.django_db
def test_read_inside_a_transaction_matches_the_orm(standing):
    with transaction.atomic():
        _check(standing)


@pytest.mark.django_db(transaction=True)
def test_a_session_that_already_has_the_statement_is_used_as_it_is(standing):
    """A pooler can hand a client a server session that has the statement while the client
    believes it has not prepared it there (review, 2026-11-30): PREPARE's 42P05 is not an error."""
    from core import sql

    _check(standing)
    sql._prepared[connection.connection].clear()  # what a pooler's session switch looks like
    _check(standing)
