"""Demo data: one store with the sample catalog, staff logins for each role (``bin/demo`` only)."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from catalog.models import PriceVersion
from catalog.services.sample_catalog import catalog_sample_seed
from trips.models import Store

DEMO_STORE_ID = "STORE-001"
DEMO_LOGINS = [
    # (username, password, role group or None for superuser)
    ("admin", "jwo-demo-admin", None),
    ("staff", "jwo-demo-staff", "Store staff"),
    ("finance", "jwo-demo-finance", "Finance"),
    ("auditor", "jwo-demo-auditor", "Auditors"),
]


@transaction.atomic
def demo_seed() -> Store:
    store, _ = Store.objects.update_or_create(
        store_id=DEMO_STORE_ID,
        defaults={
            "name": "Demo Market, 1st Avenue",
            "currency": "USD",
            "time_zone": "America/New_York",
            "preauth_amount": Decimal("50.00"),
        },
    )
    user_model = get_user_model()
    for username, password, role in DEMO_LOGINS:
        user, _ = user_model.objects.get_or_create(username=username)
        user.is_staff = True
        user.is_superuser = role is None
        user.set_password(password)
        user.save()
        if role:
            user.groups.set([Group.objects.get(name=role)])
    if not PriceVersion.objects.filter(store=store).exists():
        catalog_sample_seed(store=store, actor="system:demo")
    return store
