import pytest

from gate import policy_cache
from gate.services.fallback_alerts import pending_reset


@pytest.fixture(autouse=True)
def fresh_gate_cache():
    """Each test starts with a cold gate cache, as a freshly started process would."""
    policy_cache.clear()
    pending_reset()
    yield
    policy_cache.clear()
    pending_reset()
