"""The debt admin: registrations live in the modules below."""

from . import debts, monitoring, workflows  # noqa: F401
