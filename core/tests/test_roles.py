import pytest
from django.contrib.auth.models import Group

pytestmark = pytest.mark.django_db


def _codenames(name):
    return set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))


def test_roles_exist_after_migrate_with_their_permissions():
    auditors = _codenames("Auditors")
    assert auditors and all(code.startswith("view_") for code in auditors)
    assert "view_shoppingtrip" in auditors and "view_auditentry" in auditors
    staff = _codenames("Store staff")
    assert "view_shoppingtrip" in staff
    assert not any(code.startswith("delete_") for code in staff)
    finance = _codenames("Finance")
    assert "view_outboxmessage" in finance


def test_nobody_may_edit_the_audit_trail():
    for role in ("Store staff", "Finance", "Auditors"):
        codes = _codenames(role)
        assert not {"change_auditentry", "delete_auditentry", "add_auditentry"} & codes
