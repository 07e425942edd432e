"""Periodic work. Each entry only wakes a sweep; what is due is decided against the business clock
(core.clock), so schedules follow the simulator's clock in tests and demos (contract §8.3)."""

BEAT_SCHEDULE = {
    "outbox-sweep": {"task": "core.outbox.sweep", "schedule": 15.0, "options": {"queue": "outbox"}},
    # Payments: stored events not yet processed; deadline watcher and janitor for charges.
    "payments-events-sweep": {
        "task": "payments.events_sweep",
        "schedule": 15.0,
        "options": {"queue": "payments"},
    },
    "payments-janitor": {
        "task": "payments.janitor",
        "schedule": 60.0,
        "options": {"queue": "payments"},
    },
    # Bad debt: levels move with time, reminders on the policy's schedule, entries let in while
    # owing, and reconciliation with what Amazon was told.
    "debt-standing-sweep": {
        "task": "debt.standing_sweep",
        "schedule": 3600.0,
        "options": {"queue": "batch"},
    },
    "debt-reminders": {
        "task": "debt.reminders_due",
        "schedule": 3600.0,
        "options": {"queue": "batch"},
    },
    "debt-entry-breaches": {
        "task": "debt.entry_breaches_detect",
        "schedule": 300.0,
        "options": {"queue": "batch"},
    },
    "debt-reconcile": {
        "task": "debt.reconcile",
        "schedule": 21600.0,
        "options": {"queue": "batch"},
    },
    # Gate: daily figures per store (today and yesterday, recomputed) and the alert when the share
    # of denials or high-risk shoppers jumps.
    "gate-figures": {
        "task": "gate.figures_refresh",
        "schedule": 3600.0,
        "options": {"queue": "batch"},
    },
    "gate-shift-check": {
        "task": "gate.shift_check",
        "schedule": 300.0,
        "options": {"queue": "batch"},
    },
    # Ordering: bad carts still open at their settle-by time are settled by store policy; carts
    # waiting too long (or never received) are alerted.
    "ordering-bad-cart-sweep": {
        "task": "ordering.bad_cart_sweep",
        "schedule": 60.0,
        "options": {"queue": "default"},
    },
    "ordering-cart-unpriced-sweep": {
        "task": "ordering.cart_unpriced_sweep",
        "schedule": 300.0,
        "options": {"queue": "default"},
    },
}
