"""gpucast's exceptions: one tree, so adapters can map them to exit codes and messages.

::

    GpucastError
    ├── CatalogError(ValueError)        bad or missing catalog entry
    │   ├── UnknownGPUError             --gpu-type not in the catalog (message has close matches)
    │   └── UnknownModelError           --model not in the catalog (message has close matches)
    ├── InputError(ValueError)          invalid workload/config value (names the value and what is accepted)
    │   └── ConfigError                 malformed or unknown keys in a JSON config / model config file
    ├── InfeasibleError(RuntimeError)   a valid question with no answer (model does not fit, no plan meets SLOs)
    │   └── SLOInfeasibleError          the SLOs cannot be met at any load (carries the lowest latencies reached)
    ├── PriceSourceError                a price source (`gpucast prices update`) cannot be read or parsed
    └── StoreError                      the database cannot be opened or a record cannot be changed
        ├── StoreNotFoundError(LookupError)  no such service, user, plan or request
        ├── StoreConflictError               duplicate name or violated constraint
        └── WorkflowError                    capacity-request transition refused (state, role, own request)

Every message is one line that says what was wrong, which value, and what is accepted.
The CLI turns any of these into that line on stderr and exit code 2.
"""

from __future__ import annotations


class GpucastError(Exception):
    """Base of every error gpucast raises on purpose.

    The message is kept on one line: a value quoted with ``!r`` may span several (a pandas Series or DataFrame given
    as ``requests_per_second`` quoted its rows), and the CLI, REST and pages all show the message as one line.
    """

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str) and ("\n" in args[0] or "\r" in args[0]):
            args = (" ".join(args[0].split()), *args[1:])
        super().__init__(*args)


class CatalogError(GpucastError, ValueError):
    """A catalog entry is missing or malformed."""


class UnknownGPUError(CatalogError):
    """The named GPU is not in the catalog."""


class UnknownModelError(CatalogError):
    """The named model is not in the catalog."""


class InputError(GpucastError, ValueError):
    """An input value is invalid."""


class ConfigError(InputError):
    """A configuration file is malformed or has unknown keys."""


class InfeasibleError(GpucastError, RuntimeError):
    """The question is valid but has no answer (nothing fits, nothing meets the SLOs)."""


class SLOInfeasibleError(InfeasibleError):
    """No configuration meets the latency targets at any load, not even with one request in flight.

    ``detail`` is JSON-ready: the targets, the best configuration tried with its lowest reachable TTFT/ITL, and
    the nearest feasible alternatives (more TP, FP8, a faster GPU) — what the REST API returns beside the message.
    """

    def __init__(self, message: str, detail: dict[str, object]):
        super().__init__(message)
        self.detail = detail


class StoreError(GpucastError):
    """The database cannot be opened or a stored record cannot be changed."""


class StoreNotFoundError(StoreError, LookupError):
    """A named service, user, plan or request does not exist (the message names it)."""


class StoreConflictError(StoreError):
    """The change clashes with stored data: a duplicate name or a violated constraint."""


class StoreUnavailableError(StoreError):
    """The database cannot be used right now: its server is down or unreachable, or its disk is full. Nothing of the
    change was saved, and the same request may succeed later (the API answers 503 with ``Retry-After``)."""


class WorkflowError(StoreError):
    """A capacity-request transition or action is not allowed (wrong state, wrong role, own request)."""


class PriceSourceError(GpucastError):
    """A public price source cannot be read or is not in the expected format (``gpucast prices update``)."""
