"""The one error type for a failed call to a live API, with what the caller needs to act on it."""
from __future__ import annotations


class ApiFailure(Exception):
    """An API call failed. `retryable`: a later identical call may succeed (409, 429, 5xx, timeouts, refused
    connections); `conflict`: a 409, so the object changed under us and the current state must be read again."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False, conflict: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable
        self.conflict = conflict
        self.retry_after_s = retry_after_s


def from_status(message: str, status: int | None, *, retry_after_s: float | None = None) -> ApiFailure:
    """Classify an HTTP status (None: no answer at all) the way Kubernetes clients do."""
    retryable = status is None or status in (409, 429) or status >= 500
    return ApiFailure(message, status=status, retryable=retryable, conflict=status == 409,
                      retry_after_s=retry_after_s)
