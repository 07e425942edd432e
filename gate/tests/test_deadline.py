"""Statement deadlines: a statement over budget is cancelled by PostgreSQL; one that finishes in
time is never touched, nor is the connection's next statement."""

import time

import pytest
from django.db import connection

from gate.deadline import BudgetExceeded, statement_deadline

pytestmark = pytest.mark.django_db(transaction=True)


def _scalar(sql: str):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_a_statement_over_budget_is_cancelled_at_the_deadline():
    started = time.perf_counter()
    with pytest.raises(BudgetExceeded), statement_deadline(0.1):
        _scalar("SELECT pg_sleep(5)")
    elapsed = time.perf_counter() - started

    assert 0.09 < elapsed < 1.0
    assert _scalar("SELECT 1") == 1  # the connection is usable afterwards


def test_statements_within_budget_are_untouched_and_later_ones_too():
    for _ in range(20):
        with statement_deadline(0.05):
            assert _scalar("SELECT 2") == 2
    time.sleep(0.1)  # every deadline has passed by now

    assert _scalar("SELECT 3 FROM pg_sleep(0.2)") == 3


def test_errors_other_than_the_deadline_propagate_as_they_are():
    from django.db import ProgrammingError

    with pytest.raises(ProgrammingError), statement_deadline(1.0):
        _scalar("SELECT * FROM no_such_table")
