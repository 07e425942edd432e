"""Risk staff run the gate policy from the admin: new draft, edit, dry run, publish, one-click
rollback; the decision log and the daily figures are read-only lists."""

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from gate.enums import Action
from gate.models import GateDecision, PolicyRule, PolicyVersion, StoreGatePolicy
from gate.tests.factories import PATH, gate_payload, make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("risk", "risk@example.invalid", "pw-not-secret-123")
    client.force_login(user)
    return client


def test_new_draft_from_the_admin_starts_from_the_active_policy(staff_client, store):
    make_version(store, rules=[{"name": "No QR", "event_types": ["QR"], "action": Action.DENY}])
    url = reverse("admin:gate_policyversion_new_draft")

    assert staff_client.get(url).status_code == 200
    response = staff_client.post(url, {"store": store.pk, "reason": "evening rules"})

    draft = PolicyVersion.objects.get(store=store, number=2)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:gate_policyversion_change", args=[draft.pk])
    assert list(draft.rules.values_list("name", flat=True)) == ["No QR"]
    page = staff_client.get(response["Location"]).content.decode()
    assert "Publish" in page and 'type="checkbox"' in page and "Dry run" in page


def test_add_button_leads_to_the_new_draft_form(staff_client):
    response = staff_client.get(reverse("admin:gate_policyversion_add"))

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:gate_policyversion_new_draft")


def test_publish_from_the_admin_activates_the_draft(staff_client, store):
    draft = make_version(store, rules=[{"name": "All in", "action": Action.ALLOW}], publish=False)
    url = reverse("admin:gate_policyversion_publish", args=[draft.pk])

    assert "cannot be published" not in staff_client.get(url).content.decode()
    response = staff_client.post(url, {"reason": "weekend opening"})

    assert response.status_code == 302
    draft.refresh_from_db()
    assert not draft.is_draft and draft.reason == "weekend opening"
    assert StoreGatePolicy.objects.get(store=store).active_version == draft


def test_publish_page_lists_what_blocks_publication(staff_client, store):
    draft = make_version(
        store, rules=[{"name": "Zero", "action": Action.ADJUST, "adjust_amount": 0}], publish=False
    )
    url = reverse("admin:gate_policyversion_publish", args=[draft.pk])

    assert "must be above zero" in staff_client.get(url).content.decode()
    staff_client.post(url, {"reason": "try"})
    draft.refresh_from_db()
    assert draft.is_draft


def test_published_version_is_read_only(staff_client, store):
    version = make_version(store, rules=[{"name": "Frozen", "action": Action.ALLOW}])

    page = staff_client.get(reverse("admin:gate_policyversion_change", args=[version.pk]))

    content = page.content.decode()
    assert page.status_code == 200
    assert 'name="default_action"' not in content
    assert 'name="rules-0-name"' not in content
    assert (
        staff_client.post(
            reverse("admin:gate_policyversion_delete", args=[version.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert PolicyRule.objects.filter(version=version).count() == 1


def test_one_click_rollback_from_the_admin(staff_client, store):
    v1 = make_version(store, rules=[{"name": "one", "action": Action.ALLOW}])
    make_version(store, rules=[{"name": "two", "action": Action.DENY}])
    page = staff_client.get(reverse("admin:gate_policyversion_change", args=[v1.pk]))
    assert "Roll back to v1" in page.content.decode()

    response = staff_client.post(reverse("admin:gate_policyversion_rollback", args=[v1.pk]))

    v3 = PolicyVersion.objects.get(store=store, number=3)
    assert response.status_code == 302
    assert StoreGatePolicy.objects.get(store=store).active_version == v3
    assert v3.author.startswith("user:")


def test_dry_run_page_lists_decisions_that_would_change(staff_client, amazon_client, store):
    amazon_client.post_signed(PATH, gate_payload(store, event_type="QR"))
    amazon_client.post_signed(PATH, gate_payload(store))
    draft = make_version(
        store, rules=[{"name": "No QR", "event_types": ["QR"], "action": "DENY"}], publish=False
    )

    page = staff_client.get(
        reverse("admin:gate_policyversion_dry_run", args=[draft.pk]), {"limit": 100}
    )

    content = page.content.decode()
    assert page.status_code == 200
    assert "2 decisions" in content and "1 would change" in content
    decision = GateDecision.objects.get(event_type="QR")
    assert decision.gate_event_id in content


def test_decision_log_and_figures_are_listed_read_only(staff_client, amazon_client, store):
    amazon_client.post_signed(PATH, gate_payload(store))
    decision = GateDecision.objects.get()

    for name in ("gatedecision", "gatedailyfigures", "storegatepolicy", "policyversion"):
        assert staff_client.get(reverse(f"admin:gate_{name}_changelist")).status_code == 200
    detail = staff_client.get(reverse("admin:gate_gatedecision_change", args=[decision.pk]))
    assert detail.status_code == 200
    assert 'name="authorized"' not in detail.content.decode()


def test_staff_without_the_gate_permission_cannot_publish(client, store):
    user = User.objects.create_user("viewer", password="pw-not-secret-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_policyversion"))
    client.force_login(user)
    draft = make_version(store, rules=[], publish=False)

    response = client.post(
        reverse("admin:gate_policyversion_publish", args=[draft.pk]), {"reason": "sneaky"}
    )

    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.is_draft


def _current_form_data(response) -> dict:
    """The POST data of an admin change page as it stands (main form, inlines, management)."""
    data = {}

    def add(form):
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(value, list | tuple):
                data[key] = [str(item) for item in value]
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif value is not None:
                data[key] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name in formset.management_form.fields:
            data[formset.management_form.add_prefix(name)] = formset.management_form[name].value()
        for form in formset.forms:
            add(form)
    return data


def test_risk_staff_edit_a_drafts_rules_and_lists_in_the_admin(staff_client, amazon_client, store):
    staff_client.post(
        reverse("admin:gate_policyversion_new_draft"), {"store": store.pk, "reason": "block"}
    )
    draft = PolicyVersion.objects.get(store=store)
    url = reverse("admin:gate_policyversion_change", args=[draft.pk])
    data = _current_form_data(staff_client.get(url))
    data.update(
        {
            "lists-TOTAL_FORMS": "1",
            "lists-0-name": "blocked",
            "lists-0-identities": "banned-1\nbanned-2",
            "rules-TOTAL_FORMS": "2",
            "rules-1-position": "2",
            "rules-1-name": "Night QR",
            "rules-1-enabled": "on",
            "rules-1-recommendation": "ANY",
            "rules-1-balance": "ANY",
            "rules-1-cart_hint": "ANY",
            "rules-1-event_types": ["QR", "MOBILE_WALLET"],
            "rules-1-action": "DENY",
            "rules-1-deny_reason": "QR_CLOSED",
            "default_action": "FOLLOW_AMAZON",
        }
    )

    response = staff_client.post(url, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    rule = PolicyRule.objects.get(version=draft, name="Night QR")
    assert rule.event_types == ["QR", "MOBILE_WALLET"] and rule.deny_reason == "QR_CLOSED"
    assert draft.lists.get().identity_set() == {"banned-1", "banned-2"}
    staff_client.post(
        reverse("admin:gate_policyversion_publish", args=[draft.pk]), {"reason": "night"}
    )
    denied = amazon_client.post_signed(PATH, gate_payload(store, event_type="MOBILE_WALLET"))
    assert b"QR_CLOSED" in denied.content
