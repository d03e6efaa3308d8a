"""WSGI middleware in front of moto: control API, counters, faults and DryRun.

emulator.py's docstring describes the control API, the fault fields and the
order in which an EC2 call meets them; `_ec2_call` applies that order.
Requests for other services and moto's /moto-api paths go straight to moto.
"""

import gzip
import io
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from aws_request import credential_scope, ec2_error_body, is_true
from emulator_state import Counters, FaultRequestError, Faults

log = logging.getLogger("tgw_vip_emulator")

CONTROL_PREFIX = "/_emulator"
MOTO_RESET_PATH = "/moto-api/reset"
BYPASS_HEADER = "HTTP_X_EMULATOR_BYPASS"
# moto's region for a request that carries no SigV4 credential scope.
DEFAULT_REGION = "us-east-1"
# The emulator serves one account, moto's default.
ACCOUNT_ID = "123456789012"

DRY_RUN_MESSAGE = "Request would have succeeded, but DryRun flag is set."

StartResponse = Callable[..., Any]


def _status_line(status: int) -> str:
    reasons = {
        200: "OK",
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        412: "Precondition Failed",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    return f"{status} {reasons.get(status, 'Error')}"


class ConnectionDropped(ConnectionAbortedError):
    """Raised after closing a client connection on purpose.

    werkzeug's request handler treats a ConnectionError as a dropped
    connection and logs nothing for it.
    """


class EmulatorMiddleware:
    """Wrap moto's WSGI application with the emulator's controls."""

    def __init__(self, moto_app: Any):
        # moto's DomainDispatcherApplication; get_application() picks the
        # Flask app of one service.
        self._moto_app = moto_app
        # moto looks up the service's app anew for every request, which costs
        # about a third of a short EC2 call, so the app is kept per service.
        self._service_apps: dict[str, Any] = {}
        # moto's backends are not written for concurrent requests, so one
        # request at a time runs inside moto. Hangs and latency are applied
        # before taking this lock, so a slow region never blocks another.
        self._moto_lock = threading.Lock()
        self.counters = Counters()
        self.faults = Faults()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._control(environ, start_response)

        body = self._buffer_body(environ)
        if path.rstrip("/") == MOTO_RESET_PATH:
            response = self._forward(environ, start_response)
            self.counters.reset()
            self.faults.clear()
            log.info("moto reset: counters and faults cleared")
            return response

        scope = credential_scope(environ.get("HTTP_AUTHORIZATION"))
        params = self._query_params(environ, body)
        operation = params.get("Action")
        is_ec2 = scope[1] == "ec2" if scope else operation is not None
        if not is_ec2 or not operation:
            return self._forward(environ, start_response)
        if environ.get(BYPASS_HEADER) == "1":
            return self._forward(environ, start_response, service="ec2")

        region = scope[0] if scope else DEFAULT_REGION
        dry_run = is_true(params.get("DryRun"))
        return self._ec2_call(environ, start_response, region, operation, dry_run)

    # -- EC2 calls ---------------------------------------------------------

    def _ec2_call(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        region: str,
        operation: str,
        dry_run: bool,
    ) -> Iterable[bytes]:
        self.counters.record_call(region, operation, dry_run)

        if self.faults.is_hung(region):
            log.info("holding %s in hung region %s", operation, region)
            self.faults.hold_while_hung(region)
            log.info("dropping held %s in region %s without a response", operation, region)
            self._drop_connection(environ)

        latency = self.faults.latency_seconds(region)
        if latency > 0:
            self.faults.sleep(latency)

        rule = self.faults.take_error(operation, region, dry_run)
        if rule is not None:
            if rule.drop:
                log.info("dropping %s in region %s (injected fault)", operation, region)
                self._drop_connection(environ)
            log.info("failing %s in region %s with injected %s", operation, region, rule.code)
            return self._ec2_error(start_response, rule.status, rule.code, rule.message)

        if self.faults.is_denied(operation):
            message = (
                "You are not authorized to perform this operation. "
                f"User: arn:aws:iam::{ACCOUNT_ID}:user/testing is not authorized to perform: "
                f"ec2:{operation} because no identity-based policy allows the ec2:{operation} action"
            )
            return self._ec2_error(start_response, 403, "UnauthorizedOperation", message)

        if dry_run:
            return self._ec2_error(start_response, 412, "DryRunOperation", DRY_RUN_MESSAGE)

        status, headers, payload = self._call_moto(environ, service="ec2")
        self.counters.record_result(operation, dry_run, status)
        start_response(_status_line(status), headers)
        return [payload]

    def _ec2_error(self, start_response: StartResponse, status: int, code: str, message: str) -> list[bytes]:
        payload = ec2_error_body(code, message)
        start_response(
            _status_line(status),
            [("Content-Type", "text/xml"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    @staticmethod
    def _drop_connection(environ: dict[str, Any]) -> None:
        connection = environ.get("werkzeug.socket")
        if connection is not None:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        raise ConnectionDropped("connection closed without a response (injected fault)")

    # -- moto --------------------------------------------------------------

    def _call_moto(
        self, environ: dict[str, Any], service: str | None = None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Run one request through moto and return its status, headers and body."""
        captured: dict[str, Any] = {}
        written: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"] = status
            captured["headers"] = headers
            return written.append

        with self._moto_lock:
            if service is None:
                app = self._moto_app
            else:
                app = self._service_apps.get(service)
                if app is None:
                    app = self._moto_app.get_application(environ)
                    self._service_apps[service] = app
            result = app(environ, capture)
            try:
                written.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        status = int(captured["status"].split(" ", 1)[0])
        return status, captured["headers"], b"".join(written)

    def _forward(
        self, environ: dict[str, Any], start_response: StartResponse, service: str | None = None
    ) -> list[bytes]:
        status, headers, payload = self._call_moto(environ, service)
        start_response(_status_line(status), headers)
        return [payload]

    @staticmethod
    def _buffer_body(environ: dict[str, Any]) -> bytes:
        """Read the request body and put it back so moto can read it again."""
        stream = environ.get("wsgi.input")
        if stream is None:
            return b""
        if environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = stream.read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input_terminated"] = False
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        return body

    @staticmethod
    def _query_params(environ: dict[str, Any], body: bytes) -> dict[str, str]:
        """Return the Query API parameters from the URL and a form body."""
        if environ.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip" and body:
            try:
                body = gzip.decompress(body)
            except OSError:
                body = b""
        params = {key: values[0] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        content_type = environ.get("CONTENT_TYPE", "")
        if body and (content_type == "" or "x-www-form-urlencoded" in content_type):
            try:
                form = parse_qs(body.decode("utf-8"))
            except UnicodeDecodeError:
                form = {}
            params.update({key: values[0] for key, values in form.items()})
        return params

    # -- control API ---------------------------------------------------------

    def _control(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "").rstrip("/")
        routes: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = {
            ("GET", "/_emulator/health"): lambda _: {"ok": True},
            ("GET", "/_emulator/counters"): lambda _: self.counters.snapshot(),
            ("POST", "/_emulator/counters/reset"): self._reset_counters,
            ("GET", "/_emulator/faults"): lambda _: self.faults.snapshot(),
            ("POST", "/_emulator/faults"): self._update_faults,
            ("POST", "/_emulator/faults/clear"): self._clear_faults,
        }
        handler = routes.get((method, path))
        if handler is None:
            allowed = sorted(m for m, p in routes if p == path)
            if allowed:
                return self._json(start_response, 405, {"error": f"{method} is not allowed on {path}; use {', '.join(allowed)}"})
            known = sorted({p for _, p in routes})
            return self._json(start_response, 404, {"error": f"no control endpoint {path}; known: {known}"})
        try:
            return self._json(start_response, 200, handler(environ))
        except FaultRequestError as error:
            return self._json(start_response, 400, {"error": str(error)})

    def _reset_counters(self, _: dict[str, Any]) -> dict[str, Any]:
        self.counters.reset()
        return self.counters.snapshot()

    def _update_faults(self, environ: dict[str, Any]) -> dict[str, Any]:
        body = self._buffer_body(environ)
        try:
            request = json.loads(body or b"{}")
        except json.JSONDecodeError as error:
            raise FaultRequestError(f"the fault request body is not valid JSON: {error}") from None
        self.faults.update(request)
        snapshot = self.faults.snapshot()
        log.info("faults updated: %s", json.dumps(snapshot, sort_keys=True))
        return snapshot

    def _clear_faults(self, _: dict[str, Any]) -> dict[str, Any]:
        self.faults.clear()
        log.info("faults cleared")
        return self.faults.snapshot()

    @staticmethod
    def _json(start_response: StartResponse, status: int, document: Any) -> list[bytes]:
        payload = json.dumps(document, sort_keys=True).encode()
        start_response(
            _status_line(status),
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]
