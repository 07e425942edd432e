"""The gate's in-process cache of store settings and compiled policies.

Each process keeps, per Amazon ``storeId``, the store's gate settings and the compiled active
policy version, together with a *stamp*: an md5 over those settings and the active version id,
computed by PostgreSQL. A decision uses the cached entry with no query; its write (one statement,
``gate.services.recording``) only goes through if the stamp still matches, so a new version,
a rollback or a changed store setting takes effect for the next decision in every process
without a restart and without anyone waiting on a lock. On a mismatch the entry is reloaded and
the decision is made again. Published versions never change, so compiled policies are cached by
version id.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.db import connection

from trips.models import Store

from .identity import identity_digest
from .models import PolicyRule, PolicyVersion, StoreGatePolicy
from .rules import BUILT_IN_POLICY, CompiledList, CompiledPolicy, CompiledRule

VERSION_CACHE_SIZE = 256

_store_table = Store._meta.db_table
_policy_table = StoreGatePolicy._meta.db_table
# Every store setting the gate uses, and the active version: a change to any of them changes
# the stamp. The same SQL expression is used to load and to guard the write.
STAMP_SQL = (
    "md5(concat_ws('|', s.currency, s.preauth_window_hours, s.settle_margin_hours,"
    " s.balance_strategy, s.gate_fallback, s.gate_budget_ms, s.deny_entry_with_debt,"
    " coalesce(p.active_version_id::text, '-')))"
)
STAMP_FROM = f"{_store_table} s LEFT JOIN {_policy_table} p ON p.store_id = s.id"
# Table and column names come from the models; values are bound parameters.
_LOAD_COLUMNS = (
    "s.id, s.store_id, s.currency, s.preauth_window_hours, s.settle_margin_hours,"
    " s.balance_strategy, s.gate_fallback, s.gate_budget_ms, s.deny_entry_with_debt,"
    f" p.active_version_id, {STAMP_SQL}"
)
_LOAD_SQL = f"SELECT {_LOAD_COLUMNS} FROM {STAMP_FROM} WHERE s.store_id = %s"  # noqa: S608


@dataclass(frozen=True, slots=True)
class StoreSettings:
    pk: int
    store_id: str
    currency: str
    preauth_window_hours: int
    settle_margin_hours: int
    balance_strategy: str
    fallback: str
    budget_ms: int
    deny_entry_with_debt: bool
    active_version_id: int | None
    stamp: str


@dataclass(frozen=True, slots=True)
class GateContext:
    """What one decision needs: the store's settings and its compiled active policy."""

    store: StoreSettings
    policy: CompiledPolicy | None  # None: the store is known but its policy could not be loaded

    @property
    def balance_strategy(self) -> str:
        return (self.policy and self.policy.balance_strategy) or self.store.balance_strategy

    @property
    def fallback(self) -> str:
        return (self.policy and self.policy.fallback) or self.store.fallback

    @property
    def budget_seconds(self) -> float:
        return self.store.budget_ms / 1000


_lock = threading.Lock()
_contexts: dict[str, GateContext] = {}
_versions: OrderedDict[int, CompiledPolicy] = OrderedDict()


def cached_context(store_id: str) -> GateContext | None:
    return _contexts.get(store_id)


def settings_load(store_id: str) -> StoreSettings | None:
    """Read the store's gate settings, active version id and stamp (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_LOAD_SQL, [store_id])
        row = cursor.fetchone()
    if row is None:
        with _lock:
            _contexts.pop(store_id, None)
        return None
    return StoreSettings(*row)


def context_remember(context: GateContext) -> GateContext:
    with _lock:
        _contexts[context.store.store_id] = context
    return context


def compiled_version(version_id: int | None) -> CompiledPolicy:
    if version_id is None:
        return BUILT_IN_POLICY
    with _lock:
        policy = _versions.get(version_id)
        if policy is not None:
            _versions.move_to_end(version_id)
            return policy
    version = PolicyVersion.objects.get(pk=version_id)
    policy = compile_version(version)
    if not version.is_draft:
        with _lock:
            _versions[version_id] = policy
            while len(_versions) > VERSION_CACHE_SIZE:
                _versions.popitem(last=False)
    return policy


def compile_version(version: PolicyVersion, *, with_digests: bool = False) -> CompiledPolicy:
    """Turn a version's rows into a ``CompiledPolicy``. ``with_digests`` prepares identity lists
    for dry runs, where the decision log holds only identity digests."""
    rules = (
        PolicyRule.objects.filter(version=version, enabled=True)
        .select_related("identity_list")
        .order_by("position")
    )
    lists: dict[int, CompiledList] = {}
    compiled_rules = []
    for rule in rules:
        compiled_list = None
        if rule.identity_list_id is not None:
            compiled_list = lists.get(rule.identity_list_id)
            if compiled_list is None:
                identities = rule.identity_list.identity_set()
                digests = frozenset()
                if with_digests:
                    digests = frozenset(identity_digest(i) for i in identities)
                compiled_list = CompiledList(rule.identity_list.name, identities, digests)
                lists[rule.identity_list_id] = compiled_list
        compiled_rules.append(_compile_rule(rule, compiled_list))
    return CompiledPolicy(
        version_id=version.pk,
        number=version.number,
        rules=tuple(compiled_rules),
        default_action=version.default_action,
        default_reason=version.default_reason,
        balance_strategy=version.balance_strategy,
        fallback=version.fallback,
        lists=tuple(lists.values()),
    )


def _compile_rule(rule: PolicyRule, identity_list: CompiledList | None) -> CompiledRule:
    return CompiledRule(
        position=rule.position,
        name=rule.name,
        action=rule.action,
        recommendation=rule.recommendation,
        risks_any=frozenset(rule.risks_any),
        no_risks=rule.no_risks,
        event_types=frozenset(rule.event_types),
        interaction_types=frozenset(rule.interaction_types),
        balance=rule.balance,
        min_outstanding=rule.min_outstanding,
        max_outstanding=rule.max_outstanding,
        min_balance_age_hours=rule.min_balance_age_hours,
        max_balance_age_hours=rule.max_balance_age_hours,
        min_unpaid_trips=rule.min_unpaid_trips,
        escalation_levels=frozenset(rule.escalation_levels),
        identity_list=identity_list,
        cart_hint=rule.cart_hint,
        min_cart_total=rule.min_cart_total,
        max_cart_total=rule.max_cart_total,
        adjust_amount=rule.adjust_amount,
        adjust_add_outstanding=rule.adjust_add_outstanding,
        deny_reason=rule.deny_reason,
        deny_risks=tuple(rule.deny_risks),
    )


def clear() -> None:
    """Forget everything (tests; a process that wants a cold start)."""
    with _lock:
        _contexts.clear()
        _versions.clear()
