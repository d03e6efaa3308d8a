"""Call counters and injected faults of the EC2 emulator.

Both objects are shared by the server's request threads, so every public
method takes the object's lock.
"""

import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

# Operations counted as writes when they are not DryRun calls.
WRITE_OPERATIONS = frozenset(
    {
        "ReplaceRoute",
        "CreateRoute",
        "DeleteRoute",
        "ReplaceTransitGatewayRoute",
        "CreateTransitGatewayRoute",
        "DeleteTransitGatewayRoute",
        "ModifyNetworkInterfaceAttribute",
    }
)

# Messages EC2 sends with these codes, used when a fault rule gives none.
DEFAULT_ERROR_MESSAGES = {
    "RequestLimitExceeded": "Request limit exceeded.",
    "InternalError": "An internal error has occurred.",
    "ServiceUnavailable": "The service is unavailable. Please try again shortly.",
    "Unavailable": "The server is overloaded and can't handle the request.",
}

ANY_OPERATION = "*"


class FaultRequestError(ValueError):
    """A fault request body that is not valid."""


class Counters:
    """EC2 calls received, per region and per operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._calls: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            self._total = 0
            self._writes = 0
            self._writes_ok = 0
            self._dry_runs = 0

    def record_call(self, region: str, operation: str, dry_run: bool) -> None:
        with self._lock:
            self._calls[region][operation] += 1
            self._total += 1
            if dry_run:
                self._dry_runs += 1
            elif operation in WRITE_OPERATIONS:
                self._writes += 1

    def record_result(self, operation: str, dry_run: bool, status: int) -> None:
        """Count a write that moto executed and returned HTTP 200 for."""
        if dry_run or operation not in WRITE_OPERATIONS or status != 200:
            return
        with self._lock:
            self._writes_ok += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": {region: dict(ops) for region, ops in self._calls.items()},
                "total": self._total,
                "writes": self._writes,
                "writes_ok": self._writes_ok,
                "dry_runs": self._dry_runs,
            }


@dataclass
class ErrorRule:
    """Fail the next `count` matching calls with an error or a dropped connection."""

    operation: str
    count: int
    code: str
    status: int
    message: str
    drop: bool
    region: str | None = None
    # None matches DryRun and real calls, True only DryRun calls, False only real calls.
    dry_run: bool | None = None

    def matches(self, operation: str, region: str, dry_run: bool) -> bool:
        if self.operation not in (ANY_OPERATION, operation):
            return False
        if self.region is not None and self.region != region:
            return False
        return self.dry_run is None or self.dry_run == dry_run


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise FaultRequestError(message)


def parse_error_rule(raw: Any) -> ErrorRule:
    """Validate one entry of a fault request's "errors" list and build its rule."""
    _require(isinstance(raw, dict), f"each entry of 'errors' must be an object, got {raw!r}")
    known = {"operation", "region", "count", "code", "status", "message", "drop", "dry_run"}
    unknown = sorted(set(raw) - known)
    _require(not unknown, f"unknown field(s) {unknown} in error rule; known: {sorted(known)}")

    operation = raw.get("operation")
    _require(
        isinstance(operation, str) and operation != "",
        f"error rule needs 'operation' (an EC2 action name or '*'), got {operation!r}",
    )

    count = raw.get("count", 1)
    _require(
        isinstance(count, int) and not isinstance(count, bool) and count >= 1,
        f"error rule 'count' must be an integer >= 1, got {count!r}",
    )

    drop = raw.get("drop", False)
    _require(isinstance(drop, bool), f"error rule 'drop' must be true or false, got {drop!r}")
    code = raw.get("code", "InternalError")
    _require(isinstance(code, str) and code != "", f"error rule 'code' must be a string, got {code!r}")

    status = raw.get("status", 500)
    _require(
        isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599,
        f"error rule 'status' must be an HTTP error status 400-599, got {status!r}",
    )
    message = raw.get("message", DEFAULT_ERROR_MESSAGES.get(code, f"{code} (injected by the emulator)."))
    _require(isinstance(message, str), f"error rule 'message' must be a string, got {message!r}")

    region = raw.get("region")
    _require(region is None or isinstance(region, str), f"error rule 'region' must be a string, got {region!r}")
    dry_run = raw.get("dry_run")
    _require(
        dry_run is None or isinstance(dry_run, bool),
        f"error rule 'dry_run' must be true, false or null, got {dry_run!r}",
    )
    return ErrorRule(operation, count, code, status, message, drop, region, dry_run)


class Faults:
    """Faults that the middleware applies to EC2 calls.

    `update()` merges a request into the current faults: latency_ms entries
    are set (0 or null removes one), error rules are appended, hang_regions
    and deny are added to the current sets, and hang_seconds is replaced.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._stopping = False
        self._clear_locked()

    def _clear_locked(self) -> None:
        self._latency_ms: dict[str, float] = {}
        self._errors: list[ErrorRule] = []
        self._hang_regions: set[str] = set()
        self._hang_seconds: float | None = None
        self._deny: set[str] = set()

    def clear(self) -> None:
        with self._condition:
            self._clear_locked()
            self._condition.notify_all()

    def stop(self) -> None:
        """Release every held request because the server is stopping."""
        with self._condition:
            self._stopping = True
            self._condition.notify_all()

    def update(self, request: Any) -> None:
        _require(isinstance(request, dict), "the fault request body must be a JSON object")
        known = {"latency_ms", "errors", "hang_regions", "hang_seconds", "deny"}
        unknown = sorted(set(request) - known)
        _require(not unknown, f"unknown field(s) {unknown}; known: {sorted(known)}")

        latency = request.get("latency_ms", {})
        _require(isinstance(latency, dict), "'latency_ms' must map region names to milliseconds")
        for region, milliseconds in latency.items():
            _require(
                milliseconds is None
                or (isinstance(milliseconds, (int, float)) and not isinstance(milliseconds, bool) and milliseconds >= 0),
                f"latency_ms[{region!r}] must be a number >= 0 or null, got {milliseconds!r}",
            )
        errors = request.get("errors", [])
        _require(isinstance(errors, list), "'errors' must be a list of error rules")
        rules = [parse_error_rule(raw) for raw in errors]
        hang_regions = request.get("hang_regions", [])
        _require(
            isinstance(hang_regions, list) and all(isinstance(r, str) for r in hang_regions),
            "'hang_regions' must be a list of region names",
        )
        deny = request.get("deny", [])
        _require(
            isinstance(deny, list) and all(isinstance(op, str) for op in deny),
            "'deny' must be a list of EC2 action names",
        )
        has_hang_seconds = "hang_seconds" in request
        hang_seconds = request.get("hang_seconds")
        _require(
            hang_seconds is None
            or (isinstance(hang_seconds, (int, float)) and not isinstance(hang_seconds, bool) and hang_seconds > 0),
            f"'hang_seconds' must be a number > 0 or null, got {hang_seconds!r}",
        )

        with self._condition:
            for region, milliseconds in latency.items():
                if milliseconds:
                    self._latency_ms[region] = float(milliseconds)
                else:
                    self._latency_ms.pop(region, None)
            self._errors.extend(rules)
            self._hang_regions.update(hang_regions)
            if has_hang_seconds:
                self._hang_seconds = None if hang_seconds is None else float(hang_seconds)
            self._deny.update(deny)
            self._condition.notify_all()

    def snapshot(self) -> dict[str, Any]:
        with self._condition:
            return {
                "latency_ms": dict(self._latency_ms),
                "errors": [asdict(rule) for rule in self._errors],
                "hang_regions": sorted(self._hang_regions),
                "hang_seconds": self._hang_seconds,
                "deny": sorted(self._deny),
            }

    def latency_seconds(self, region: str) -> float:
        with self._condition:
            return self._latency_ms.get(region, 0.0) / 1000.0

    def is_denied(self, operation: str) -> bool:
        with self._condition:
            return operation in self._deny

    def take_error(self, operation: str, region: str, dry_run: bool) -> ErrorRule | None:
        """Consume one call of the first rule that matches, if any."""
        with self._condition:
            for rule in self._errors:
                if rule.matches(operation, region, dry_run):
                    rule.count -= 1
                    if rule.count == 0:
                        self._errors.remove(rule)
                    return ErrorRule(**asdict(rule))
            return None

    def is_hung(self, region: str) -> bool:
        with self._condition:
            return region in self._hang_regions and not self._stopping

    def hold_while_hung(self, region: str) -> None:
        """Block until the region's hang is cleared, hang_seconds pass, or the server stops."""
        with self._condition:
            limit = self._hang_seconds
            deadline = None if limit is None else time.monotonic() + limit
            while region in self._hang_regions and not self._stopping:
                timeout = None if deadline is None else deadline - time.monotonic()
                if timeout is not None and timeout <= 0:
                    return
                self._condition.wait(timeout)

    def sleep(self, seconds: float) -> None:
        """Sleep for added latency, returning early when the server stops."""
        deadline = time.monotonic() + seconds
        with self._condition:
            while not self._stopping:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._condition.wait(remaining)
