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
}
