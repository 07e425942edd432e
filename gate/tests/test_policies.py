"""Policy versions as services: drafts copy, publication freezes and activates, rollback makes a
new version, validation refuses broken rules, and the dry run replays the decision log."""

from decimal import Decimal

import pytest

from core.audit import audit_trail
from gate.enums import Action, BalanceCondition, VersionStatus
from gate.models import GateDecision, PolicyRule, PolicyVersion, StoreGatePolicy
from gate.services.policies import (
    PolicyInvalid,
    VersionNotDraft,
    policy_draft_create,
    policy_dry_run,
    policy_rollback,
    policy_version_publish,
    policy_version_warnings,
)
from gate.tests.factories import PATH, gate_payload, make_version
from jwo_client import wire
from trips.enums import BalanceStrategy

pytestmark = pytest.mark.django_db
ACTOR = "user:7:risk-anna"


def test_first_draft_writes_out_the_built_in_policy(store):
    draft = policy_draft_create(store=store, actor=ACTOR, reason="start editing")

    rules = list(draft.rules.values_list("name", "balance", "action", "deny_reason"))
    assert rules == [("Outstanding balance", "BLOCKING", "DENY", "OUTSTANDING_BALANCE")]
    assert (draft.number, draft.status, draft.author) == (1, VersionStatus.DRAFT, ACTOR)
    assert StoreGatePolicy.objects.get(store=store).active_version is None  # drafts never decide


def test_publish_freezes_the_draft_activates_it_and_audits_author_and_reason(store):
    draft = policy_draft_create(store=store, actor=ACTOR, reason="first")

    policy_version_publish(version=draft, actor="user:8:lead", reason="deny QR at night")

    draft.refresh_from_db()
    assert draft.status == VersionStatus.PUBLISHED and draft.published_by == "user:8:lead"
    assert draft.reason == "deny QR at night"
    assert StoreGatePolicy.objects.get(store=store).active_version == draft
    entry = audit_trail(entity="gate_policy", entity_id=store.store_id).last()
    assert (entry.action, entry.from_state, entry.to_state) == ("published", "built-in", "v1")
    assert entry.actor == "user:8:lead" and entry.reason == "deny QR at night"
    with pytest.raises(VersionNotDraft):
        policy_version_publish(version=draft, actor=ACTOR, reason="again")


def test_a_new_draft_copies_rules_and_lists_of_the_active_version(store):
    v1 = make_version(
        store,
        lists={"blocked": ["a", "b"]},
        rules=[{"name": "Blocked", "identity_list": "blocked", "action": Action.DENY}],
        fallback="DENY",
    )

    draft = policy_draft_create(store=store, actor=ACTOR, reason="tweak")

    assert draft.based_on == v1 and draft.number == 2 and draft.fallback == "DENY"
    rule = draft.rules.get()
    assert rule.identity_list.version == draft
    assert rule.identity_list.identity_set() == {"a", "b"}
    assert v1.rules.get().identity_list.version == v1  # the original is untouched


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"action": Action.ADJUST, "adjust_amount": Decimal("0")}, "above zero"),
        ({"action": Action.ADJUST, "adjust_amount": Decimal("10.5"), "name": "x"}, None),
        (
            {"action": Action.DENY, "min_outstanding": Decimal(9), "max_outstanding": Decimal(1)},
            "range is empty",
        ),
        ({"action": Action.ALLOW, "adjust_add_outstanding": True}, "not ADJUST"),
    ],
)
def test_publish_refuses_broken_rules(store, rule, problem):
    draft = make_version(store, rules=[rule], publish=False)

    if problem is None:
        policy_version_publish(version=draft, actor=ACTOR, reason="ok")
        return
    with pytest.raises(PolicyInvalid) as error:
        policy_version_publish(version=draft, actor=ACTOR, reason="bad")
    assert problem in str(error.value)
    assert not StoreGatePolicy.objects.filter(store=store, active_version__isnull=False).exists()


def test_rules_reading_our_books_are_flagged_under_amazon_balances(store):
    draft = make_version(
        store,
        balance_strategy=BalanceStrategy.AMAZON,
        rules=[{"min_unpaid_trips": 2, "balance": BalanceCondition.OUTSTANDING}],
        publish=False,
    )

    assert "never matches" in policy_version_warnings(draft)[0]


def test_rollback_is_a_new_published_copy_and_is_audited(store):
    v1 = make_version(store, rules=[{"name": "one", "action": Action.ALLOW}])
    make_version(store, rules=[{"name": "two", "action": Action.DENY}])

    v3 = policy_rollback(to_version=v1, actor=ACTOR)

    assert (v3.number, v3.status, v3.based_on, v3.reason) == (3, "PUBLISHED", v1, "rollback to v1")
    assert list(v3.rules.values_list("name", flat=True)) == ["one"]
    assert StoreGatePolicy.objects.get(store=store).active_version == v3
    entry = audit_trail(entity="gate_policy", entity_id=store.store_id).last()
    assert (entry.action, entry.from_state, entry.to_state) == ("rolled_back", "v2", "v3")
    with pytest.raises(VersionNotDraft):
        policy_rollback(to_version=policy_draft_create(store=store, actor=ACTOR), actor=ACTOR)


def test_dry_run_shows_which_of_the_last_decisions_would_change(amazon_client, store):
    """Dry run: a draft evaluated against the last N real decisions (nothing is written)."""
    for event_type in ("QR", "CREDIT_CARD", "QR", "AMAZON_ONE"):
        response = amazon_client.post_signed(PATH, gate_payload(store, event_type=event_type))
        assert wire.loads(response.content) == {"shopperAuthorized": True}
    draft = make_version(
        store,
        rules=[{"name": "No QR", "event_types": ["QR"], "action": Action.DENY}],
        publish=False,
    )

    report = policy_dry_run(version=draft, limit=3)

    assert report.evaluated == 3
    changed = [row.decision.event_type for row in report.changed]
    assert changed == ["QR"]  # the oldest QR is beyond the last 3
    assert report.newly_denied == 1 and report.newly_allowed == 0
    assert report.changed[0].outcome.rule_name == "No QR"
    assert GateDecision.objects.count() == 4
    assert PolicyVersion.objects.get(pk=draft.pk).is_draft


def test_dry_run_matches_identity_lists_by_digest(amazon_client, store):
    amazon_client.post_signed(PATH, gate_payload(store, shopper_id="banned-1"))
    amazon_client.post_signed(PATH, gate_payload(store, shopper_id="fine-1"))
    draft = make_version(
        store,
        lists={"blocked": ["banned-1"]},
        rules=[{"name": "Blocked", "identity_list": "blocked", "action": Action.DENY}],
        publish=False,
    )

    report = policy_dry_run(version=draft, limit=10)

    assert len(report.changed) == 1
    assert report.changed[0].decision.identity_digest != "banned-1"


def test_dry_run_flags_rows_without_book_figures(amazon_client, store):
    store.balance_strategy = BalanceStrategy.AMAZON
    store.save()
    amazon_client.post_signed(PATH, gate_payload(store))
    draft = make_version(
        store,
        balance_strategy=BalanceStrategy.OWN_BOOKS,
        rules=[{"min_unpaid_trips": 1, "action": Action.DENY}],
        publish=False,
    )

    report = policy_dry_run(version=draft, limit=10)

    assert report.rows[0].incomplete is True
    assert PolicyRule.objects.filter(version=draft).count() == 1
