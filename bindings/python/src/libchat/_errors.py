"""libchat.Error and one subclass per libchat status code (libchat_c.h chat_code)."""

from typing import Dict, Type


class Error(Exception):
    """A libchat call failed. ``code`` is the chat_code number, ``code_name`` its stable name ("not_found")."""

    code = 11
    code_name = "internal"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code_name}: {self.message}"


class InvalidArgument(Error):
    """Malformed or out-of-range input: bad UTF-8, an empty text, a limit above 200, ..."""

    code, code_name = 1, "invalid_argument"


class Unauthenticated(Error):
    """Missing, unknown, forged, revoked or expired credentials; a wrong password."""

    code, code_name = 2, "unauthenticated"


class PermissionDenied(Error):
    """Authenticated, but this principal may not do this."""

    code, code_name = 3, "permission_denied"


class NotFound(Error):
    """Absent, or belonging to another tenant (the two are indistinguishable)."""

    code, code_name = 4, "not_found"


class AlreadyExists(Error):
    """A unique thing (an account's email, ...) exists already."""

    code, code_name = 5, "already_exists"


class Aborted(Error):
    """Conflicts with the current state; retrying may succeed."""

    code, code_name = 6, "aborted"


class ResourceExhausted(Error):
    """A limit or quota is reached, or memory ran out."""

    code, code_name = 7, "resource_exhausted"


class FailedPrecondition(Error):
    """The system is not in a state that allows this (e.g. the engine is closed)."""

    code, code_name = 8, "failed_precondition"


class Unavailable(Error):
    """The store cannot serve right now."""

    code, code_name = 9, "unavailable"


class DeadlineExceeded(Error):
    """An outbound call did not answer in time."""

    code, code_name = 10, "deadline_exceeded"


class Internal(Error):
    """A bug inside libchat."""

    code, code_name = 11, "internal"


_BY_CODE: Dict[int, Type[Error]] = {
    cls.code: cls
    for cls in (InvalidArgument, Unauthenticated, PermissionDenied, NotFound, AlreadyExists, Aborted,
                ResourceExhausted, FailedPrecondition, Unavailable, DeadlineExceeded, Internal)
}


def error_for_code(code: int, message: str) -> Error:
    """The exception of a chat_code; an unknown code (a newer library) becomes Error."""
    cls = _BY_CODE.get(code)
    if cls is None:
        err = Error(message)
        err.code, err.code_name = code, "unknown"
        return err
    return cls(message)
