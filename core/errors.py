"""One error tree for the product, mapped once to API responses and once to portal messages."""

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """A validation failure for one field, in the contract's shape (§1.3)."""

    field: str
    problem: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "problem": self.problem}


class ApplicationError(Exception):
    """Base of every business error. ``code`` is stable; ``shopper_visible`` marks safe messages."""

    code = "ApplicationError"
    http_status = 400
    shopper_visible = False

    def __init__(self, message: str = "", *, code: str | None = None):
        super().__init__(message or self.code)
        self.message = message or self.code
        if code:
            self.code = code


class ValidationFailed(ApplicationError):
    code = "BadRequestException"
    http_status = 400

    def __init__(self, problems: list[FieldProblem], message: str = "BadRequestException"):
        super().__init__(message)
        self.problems = problems


class NotFound(ApplicationError):
    code = "NotFound"
    http_status = 404


class Conflict(ApplicationError):
    code = "Conflict"
    http_status = 409


class InvalidTransition(ApplicationError):
    """A state change that the transition table does not allow."""

    code = "InvalidTransition"
    http_status = 409

    def __init__(self, entity: str, from_state: str, to_state: str):
        super().__init__(f"{entity}: {from_state} -> {to_state} is not allowed")
        self.entity = entity
        self.from_state = from_state
        self.to_state = to_state


class ServiceUnavailable(ApplicationError):
    code = "ServiceUnavailableException"
    http_status = 503

    def __init__(self, message: str = "ServiceUnavailableException", *, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after
