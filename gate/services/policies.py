"""Policy versions: drafts, publication, rollback, and dry runs against the decision log.

Every change is a new version with its author and reason. Publishing or rolling back only
re-points ``StoreGatePolicy.active_version`` (a one-row update): gate decisions never wait on it,
and the next decision in every process sees the change through the stamp check of
``gate.policy_cache``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max

from core.audit import audit_record
from core.clock import now as business_now
from core.errors import ApplicationError
from core.money import quantum
from trips.enums import BalanceStrategy
from trips.models import Store

from ..enums import BALANCE_RISKS, Action, BalanceCondition, VersionStatus
from ..models import GateDecision, IdentityList, PolicyRule, PolicyVersion, StoreGatePolicy
from ..policy_cache import compile_version
from ..rules import BUILT_IN_RULES, BalanceFacts, DecisionInputs, Outcome, evaluate

AUDIT_ENTITY = "gate_policy"
DRY_RUN_DEFAULT = 500
DRY_RUN_MAX = 10_000


class PolicyInvalid(ApplicationError):
    code = "PolicyInvalid"
    http_status = 400

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class VersionNotDraft(ApplicationError):
    code = "VersionNotDraft"
    http_status = 409


def _lock_store_policy(store: Store) -> StoreGatePolicy:
    """Serialise version changes of one store (numbering and activation) on its policy row."""
    StoreGatePolicy.objects.get_or_create(store=store)
    return StoreGatePolicy.objects.select_for_update().get(store=store)


def _next_number(store: Store) -> int:
    current = PolicyVersion.objects.filter(store=store).aggregate(top=Max("number"))["top"]
    return (current or 0) + 1


def _copy_content(source: PolicyVersion | None, target: PolicyVersion) -> None:
    if source is None:  # the built-in default, written out as rows staff can edit
        for rule in BUILT_IN_RULES:
            PolicyRule.objects.create(
                version=target,
                position=rule.position,
                name=rule.name,
                balance=rule.balance,
                action=rule.action,
                deny_reason=rule.deny_reason,
                deny_risks=list(rule.deny_risks),
            )
        return
    list_map = {}
    for identity_list in source.lists.all():
        list_map[identity_list.pk] = IdentityList.objects.create(
            version=target, name=identity_list.name, identities=identity_list.identities
        )
    for rule in source.rules.all().order_by("position"):
        rule.pk = None
        rule.version = target
        if rule.identity_list_id is not None:
            rule.identity_list = list_map[rule.identity_list_id]
        rule.save(force_insert=True)


def _copy_settings(source: PolicyVersion | None) -> dict:
    if source is None:
        return {}
    return {
        "balance_strategy": source.balance_strategy,
        "fallback": source.fallback,
        "default_action": source.default_action,
        "default_reason": source.default_reason,
    }


def policy_draft_create(
    *, store: Store, actor: str, reason: str = "", based_on: PolicyVersion | None = None
) -> PolicyVersion:
    """A new editable draft: a copy of ``based_on``, else of the active version, else of the
    built-in default policy."""
    with transaction.atomic():
        store_policy = _lock_store_policy(store)
        source = based_on or store_policy.active_version
        if source is not None and source.store_id != store.pk:
            raise PolicyInvalid(["the version to copy belongs to another store"])
        draft = PolicyVersion.objects.create(
            store=store,
            number=_next_number(store),
            status=VersionStatus.DRAFT,
            based_on=source,
            author=actor,
            reason=reason[:500],
            **_copy_settings(source),
        )
        _copy_content(source, draft)
        audit_record(
            entity=AUDIT_ENTITY,
            entity_id=store.store_id,
            action="draft_created",
            to_state=f"v{draft.number}",
            actor=actor,
            reason=reason,
            context={"based_on": source.number if source else "built-in"},
        )
    return draft


def policy_version_problems(version: PolicyVersion) -> list[str]:
    """What stops a version from being published (empty: it may be)."""
    problems = []
    step = quantum(version.store.currency)
    for rule in version.rules.all().select_related("identity_list"):
        label = f"rule #{rule.position} {rule.name!r}"
        if rule.action == Action.ADJUST and rule.adjust_amount is not None:
            if rule.adjust_amount <= 0:
                problems.append(f"{label}: the ADJUST amount must be above zero")
            elif rule.adjust_amount != rule.adjust_amount.quantize(step):
                problems.append(f"{label}: the ADJUST amount has too many decimals")
        if rule.action != Action.ADJUST and (rule.adjust_amount or rule.adjust_add_outstanding):
            problems.append(f"{label}: ADJUST settings on a rule whose action is not ADJUST")
        if rule.identity_list_id is not None and rule.identity_list.version_id != version.pk:
            problems.append(f"{label}: its identity list belongs to another version")
        for low, high, what in (
            (rule.min_outstanding, rule.max_outstanding, "outstanding amount"),
            (rule.min_balance_age_hours, rule.max_balance_age_hours, "balance age"),
            (rule.min_cart_total, rule.max_cart_total, "cart total"),
        ):
            if low is not None and high is not None and low > high:
                problems.append(f"{label}: the {what} range is empty")
    return problems


def policy_version_warnings(version: PolicyVersion) -> list[str]:
    """Rules that can never match under the version's balance strategy (published anyway)."""
    strategy = version.balance_strategy or version.store.balance_strategy
    warnings = []
    if strategy == BalanceStrategy.OWN_BOOKS:
        return warnings
    for rule in version.rules.filter(enabled=True):
        needs_books = (
            rule.min_outstanding is not None
            or rule.max_outstanding is not None
            or rule.min_unpaid_trips is not None
            or rule.min_balance_age_hours is not None
            or rule.max_balance_age_hours is not None
            or bool(rule.escalation_levels)
        )
        if needs_books:
            warnings.append(
                f"rule #{rule.position} {rule.name!r} reads our books, but the balance strategy "
                f"is {strategy}: it never matches"
            )
        if strategy == BalanceStrategy.NONE and rule.balance != BalanceCondition.ANY:
            warnings.append(f"rule #{rule.position} {rule.name!r}: balances are ignored (NONE)")
    return warnings


def _activate(store_policy: StoreGatePolicy, version: PolicyVersion, *, actor, action, reason):
    previous = store_policy.active_version
    store_policy.active_version = version
    store_policy.save(update_fields=["active_version", "updated_at"])
    audit_record(
        entity=AUDIT_ENTITY,
        entity_id=version.store.store_id,
        action=action,
        from_state=f"v{previous.number}" if previous else "built-in",
        to_state=f"v{version.number}",
        actor=actor,
        reason=reason,
    )


def policy_version_publish(*, version: PolicyVersion, actor: str, reason: str) -> PolicyVersion:
    """Freeze a draft and make it the store's active policy (effective for the next decision)."""
    with transaction.atomic():
        store_policy = _lock_store_policy(version.store)
        version = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        if not version.is_draft:
            raise VersionNotDraft(f"v{version.number} is already published")
        problems = policy_version_problems(version)
        if problems:
            raise PolicyInvalid(problems)
        version.status = VersionStatus.PUBLISHED
        version.published_at = business_now()
        version.published_by = actor
        if reason:
            version.reason = reason[:500]
        version.save(update_fields=["status", "published_at", "published_by", "reason"])
        _activate(store_policy, version, actor=actor, action="published", reason=reason)
    return version


def policy_rollback(*, to_version: PolicyVersion, actor: str, reason: str = "") -> PolicyVersion:
    """One click: a new published version with ``to_version``'s content becomes active."""
    if to_version.is_draft:
        raise VersionNotDraft("only a published version can be rolled back to")
    reason = reason or f"rollback to v{to_version.number}"
    with transaction.atomic():
        store_policy = _lock_store_policy(to_version.store)
        at = business_now()
        version = PolicyVersion.objects.create(
            store=to_version.store,
            number=_next_number(to_version.store),
            status=VersionStatus.PUBLISHED,
            based_on=to_version,
            author=actor,
            reason=reason[:500],
            published_by=actor,
            published_at=at,
            **_copy_settings(to_version),
        )
        _copy_content(to_version, version)
        _activate(store_policy, version, actor=actor, action="rolled_back", reason=reason)
    return version


@dataclass(frozen=True)
class DryRunRow:
    decision: GateDecision
    outcome: Outcome
    changed: bool
    incomplete: bool  # the draft reads balance figures this logged decision does not have


@dataclass
class DryRunReport:
    version: PolicyVersion
    evaluated: int = 0
    rows: list[DryRunRow] = field(default_factory=list)

    @property
    def changed(self) -> list[DryRunRow]:
        return [row for row in self.rows if row.changed]

    @property
    def newly_denied(self) -> int:
        return sum(1 for row in self.changed if row.decision.authorized)

    @property
    def newly_allowed(self) -> int:
        return sum(
            1 for row in self.changed if not row.decision.authorized and row.outcome.authorized
        )


def _logged_balance(decision: GateDecision, strategy: str) -> tuple[BalanceFacts, bool]:
    if strategy == BalanceStrategy.AMAZON:
        flagged = bool(BALANCE_RISKS & set(decision.recommended_risks or []))
        return BalanceFacts(strategy=strategy, has_balance=flagged, blocks_entry=flagged), False
    if strategy != BalanceStrategy.OWN_BOOKS:
        return BalanceFacts(strategy=strategy), False
    if decision.outstanding_amount is None:
        return BalanceFacts(strategy=strategy), True
    outstanding = decision.outstanding_amount
    return (
        BalanceFacts(
            strategy=strategy,
            amounts_known=True,
            outstanding=outstanding,
            unpaid_trips=decision.unpaid_trips,
            oldest_unpaid_at=decision.oldest_unpaid_at,
            escalation_level=decision.escalation_level,
            has_balance=outstanding > 0,
            blocks_entry=bool(decision.blocks_entry),
        ),
        False,
    )


def policy_dry_run(*, version: PolicyVersion, limit: int = DRY_RUN_DEFAULT) -> DryRunReport:
    """Evaluate ``version`` (usually a draft) against the store's last ``limit`` real decisions
    and report which answers would change. Reads only; nothing is written."""
    limit = max(1, min(int(limit), DRY_RUN_MAX))
    policy = compile_version(version, with_digests=True)
    strategy = version.balance_strategy or version.store.balance_strategy
    decisions = GateDecision.objects.filter(store_id=version.store_id).order_by(
        "-decided_at", "-id"
    )[:limit]
    report = DryRunReport(version=version)
    for decision in decisions:
        balance, incomplete = _logged_balance(decision, strategy)
        inputs = DecisionInputs(
            identity_id=None,
            identity_digest=decision.identity_digest,
            currency=decision.currency,
            authorized_amount=decision.authorized_amount,
            event_type=decision.event_type,
            interaction_type=decision.interaction_type,
            recommended_authorized=decision.recommended_authorized,
            recommended_amount=decision.recommended_amount,
            recommended_risks=frozenset(decision.recommended_risks or []),
            cart_hint_present=(
                decision.cart_hint_total is not None or decision.cart_hint_items is not None
            ),
            cart_hint_total=decision.cart_hint_total,
            balance=balance,
            now=decision.decided_at,
        )
        outcome = evaluate(policy, inputs)
        changed = outcome.authorized != decision.authorized or (
            outcome.authorized and outcome.preauth_amount != decision.preauth_amount
        )
        report.rows.append(DryRunRow(decision, outcome, changed, incomplete))
        report.evaluated += 1
    return report
