"""Fixtures shared by every test package. Tests use the real PostgreSQL and Redis."""

import pytest

from tests import factories


@pytest.fixture
def store(db):
    return factories.make_store()


@pytest.fixture
def shopper(db):
    return factories.make_shopper()


@pytest.fixture
def amazon_client(client):
    """The Django test client plus ``.post_signed(path, payload)`` signed as Amazon."""
    from tests.signing import amazon_post

    client.post_signed = lambda path, payload, **kw: amazon_post(client, path, payload, **kw)
    return client
