"""Staff roles as data: Django groups with real permissions, kept in sync after every migrate.

- Store staff: run the store (catalog, bad-cart queue, trips) and see payments; no money changes.
- Finance: everything staff sees, plus refunds, debts, write-off approvals and payment actions.
- Finance lead: Finance, plus write-off approvals above the Finance limit and the debt policy.
- Auditors: read-only over every business table and the audit trail.
"""

from django.apps import apps as django_apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction

PROJECT_APPS = (
    "core",
    "trips",
    "catalog",
    "ordering",
    "gate",
    "payments",
    "debt",
    "connector",
    "reporting",
)

ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    "Store staff": {
        "view": PROJECT_APPS,
        "add": ("catalog", "ordering"),
        "change": ("catalog", "ordering", "trips"),
        "delete": (),
    },
    "Finance": {
        "view": PROJECT_APPS,
        "add": ("payments", "debt"),
        "change": ("payments", "debt", "trips", "gate"),
        "delete": (),
    },
    "Auditors": {"view": PROJECT_APPS, "add": (), "change": (), "delete": ()},
}
# debt: Finance approves write-offs up to the debt policy's limit; the Finance lead approves above
# it and alone edits the debt policy (thresholds and that limit).
ROLES["Finance lead"] = dict(ROLES["Finance"])
EXTRA_PERMISSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "Finance": (("debt", "approve_write_off"),),
    "Finance lead": (("debt", "approve_write_off"), ("debt", "approve_large_write_off")),
}
EXCLUDED_PERMISSIONS: dict[str, frozenset[tuple[str, str]]] = {
    "Finance": frozenset({("debt", "add_debtpolicy"), ("debt", "change_debtpolicy")}),
}
# Never granted to a role, whatever the app lists say: the audit trail is append-only.
FORBIDDEN = {
    ("core", "change_auditentry"),
    ("core", "delete_auditentry"),
    ("core", "add_auditentry"),
}


def role_permissions(role: str) -> list[Permission]:
    grants = ROLES[role]
    wanted = Permission.objects.none()
    for action, app_labels in grants.items():
        if app_labels:
            wanted |= Permission.objects.filter(
                content_type__app_label__in=app_labels, codename__startswith=f"{action}_"
            )
    for app_label, codename in EXTRA_PERMISSIONS.get(role, ()):
        wanted |= Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    refused = FORBIDDEN | EXCLUDED_PERMISSIONS.get(role, frozenset())
    return [
        permission
        for permission in wanted.select_related("content_type")
        if (permission.content_type.app_label, permission.codename) not in refused
    ]


@transaction.atomic
def roles_sync() -> dict[str, int]:
    counts = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        permissions = role_permissions(role)
        group.permissions.set(permissions)
        counts[role] = len(permissions)
    return counts


def roles_sync_after_migrate(sender, **kwargs):
    # post_migrate fires once per app; permissions exist for all apps only after the last one.
    # (Django skips apps without a models module when it sends the signal.)
    with_models = [config for config in django_apps.get_app_configs() if config.models_module]
    if sender.label == with_models[-1].label:
        roles_sync()
