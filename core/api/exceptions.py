"""Map every error once to the contract's error bodies: ``{"errorMsg": ..., "details": [...]}``."""

import logging

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from core.errors import ApplicationError, ServiceUnavailable, ValidationFailed

logger = logging.getLogger(__name__)


def error_response(error_msg: str, http_status: int, *, details=None, headers=None) -> Response:
    body = {"errorMsg": error_msg}
    if details is not None:
        body["details"] = details
    return Response(body, status=http_status, headers=headers)


def api_exception_handler(exc, context):
    if isinstance(exc, ValidationFailed):
        details = [problem.as_dict() for problem in exc.problems]
        return error_response(exc.code, status.HTTP_400_BAD_REQUEST, details=details)
    if isinstance(exc, ServiceUnavailable):
        response = error_response(exc.code, 503, headers={"Retry-After": str(exc.retry_after)})
        response.data["retryAfter"] = exc.retry_after
        return response
    if isinstance(exc, ApplicationError):
        return error_response(exc.code, exc.http_status)
    if isinstance(exc, exceptions.ParseError):
        return error_response(
            "BadRequestException", 400, details=[{"field": "", "problem": "BAD_FORMAT"}]
        )
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return error_response(
            "BadRequestException", 400, details=[{"field": "", "problem": "BAD_FORMAT"}]
        )
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        return error_response("AccessDeniedException", 403)
    if isinstance(exc, exceptions.PermissionDenied):
        return error_response("AccessDeniedException", 403)
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return error_response("InternalServerException", 500)
    return response
