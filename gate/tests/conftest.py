import pytest

from gate import policy_cache


@pytest.fixture(autouse=True)
def fresh_gate_cache():
    """Each test starts with a cold gate cache, as a freshly started process would."""
    policy_cache.clear()
    yield
    policy_cache.clear()
