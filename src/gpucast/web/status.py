"""HTTP statuses of gpucast's errors, in one place, for the JSON API (``errors.py``) and the pages.

==============================================  =====================================================
InputError, ConfigError, CatalogError           422 (the value is wrong; ``field`` names it if known)
UnknownGPUError, UnknownModelError              422 in a body (404 where the name is in the path)
InfeasibleError                                 422 (a valid question without an answer)
SLOInfeasibleError                              422, plus ``infeasible``: lowest latencies reached, alternatives
StoreNotFoundError                              404
StoreConflictError                              409
WorkflowError                                   403 (role, own request) or 409 (wrong state, raced)
StoreUnavailableError                           503 + Retry-After (the database is down, unreachable or full)
other StoreError                                503 (the database cannot be used)
request body validation (Pydantic)              422, ``field`` = the dotted path in the body
missing or bad token                            401; reading or writing not allowed: 403
body larger than the limit                      413
==============================================  =====================================================
"""

from __future__ import annotations

from ..errors import (
    GpucastError,
    InfeasibleError,
    InputError,
    StoreConflictError,
    StoreError,
    StoreNotFoundError,
    WorkflowError,
)

_STATE_MESSAGES = ("a request that is", "changed while you acted")


def status_of(error: GpucastError) -> int:
    """The HTTP status of one of gpucast's errors (see the table above)."""
    if isinstance(error, StoreNotFoundError):
        return 404
    if isinstance(error, StoreConflictError):
        return 409
    if isinstance(error, WorkflowError):
        return 409 if any(text in str(error) for text in _STATE_MESSAGES) else 403
    if isinstance(error, StoreError):
        return 503
    if isinstance(error, (InputError, InfeasibleError, ValueError)):
        return 422
    return 400
