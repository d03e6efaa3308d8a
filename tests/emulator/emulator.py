#!/usr/bin/env python3
"""EC2 emulator for tgw-vip's tests, demo and benchmark.

Runs moto's EC2 (moto[server]==5.2.1) in-process on 127.0.0.1 only, with the
completions of ec2_patches.py and the controls of middleware.py. One port
serves every region, and the SigV4 credential scope selects the region.

Usage:
    python3 tests/emulator/emulator.py [--port 0] [--ready-file PATH]
                                       [--exit-on-stdin-eof] [-v]

Once listening it writes {"port": N, "pid": P} to the ready file (written to
a temporary file and renamed) and prints "READY http://127.0.0.1:N" on
stdout. It exits with status 0 on SIGTERM, SIGINT, or, with
--exit-on-stdin-eof, when its standard input closes.

Control API, JSON in and out, on the same port. Control calls are never
counted, and neither are EC2 calls with the header X-Emulator-Bypass: 1.

    GET  /_emulator/health          {"ok": true}
    GET  /_emulator/counters        {"calls": {region: {Operation: n}}, "total": n,
                                     "writes": n, "writes_ok": n, "dry_runs": n}
    POST /_emulator/counters/reset  returns the zeroed counters
    GET  /_emulator/faults          the current faults
    POST /_emulator/faults          merges a request into the current faults
    POST /_emulator/faults/clear    removes every fault and releases held calls
    POST /moto-api/reset            moto's own reset; also resets counters and faults

Counters: every EC2 call is counted when it arrives, before any fault, by
region (SigV4 scope) and operation (the Action parameter). "writes" counts
calls of ReplaceRoute, CreateRoute, DeleteRoute, ReplaceTransitGatewayRoute,
CreateTransitGatewayRoute, DeleteTransitGatewayRoute and
ModifyNetworkInterfaceAttribute without DryRun=true, "writes_ok" those that
moto executed with HTTP 200, and "dry_runs" the calls with DryRun=true.

Fault request fields (all optional):
    latency_ms    {region: ms}; adds that delay to every EC2 call of the region.
                  0 or null removes the region's entry.
    errors        list of rules, appended to the current ones. Each rule fails
                  the next `count` calls that match it, then disappears:
                    operation  EC2 action name, or "*" for any (required)
                    region     only calls signed for this region (default: any)
                    count      default 1
                    code       EC2 error code (default "InternalError")
                    status     HTTP status, 400-599 (default 500)
                    message    default: EC2's usual message for the code
                    drop       true closes the connection without a response
                    dry_run    null matches every call (default), true only
                               DryRun calls, false only real calls
    hang_regions  regions added to the hung set. A call to a hung region is
                  held without a response until the region's hang is cleared,
                  hang_seconds pass, or the emulator stops. Then its connection
                  is closed without a response and the call is not executed.
    hang_seconds  how long one call is held at most; null (default) holds it
                  until the hang is cleared. Replaces the current value.
    deny          EC2 action names added to the denied set; their calls, DryRun
                  or not, fail with UnauthorizedOperation (HTTP 403).

An EC2 call goes through, in order: the hang, the latency, the first matching
error rule, the denied set, DryRun=true (returns DryRunOperation, HTTP 412,
and executes nothing), and then moto.
"""

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

LISTEN_ADDRESS = "127.0.0.1"

log = logging.getLogger("tgw_vip_emulator")


def require_moto() -> None:
    """Exit with an install hint when moto's server dependencies are missing."""
    try:
        import moto.moto_server.werkzeug_app  # noqa: F401
    except ImportError as error:
        raise SystemExit(
            f"error: moto[server] is not installed ({error}); run "
            "'pip install -r tests/emulator/requirements.txt'"
        ) from None


class EmulatorServer:
    """A running emulator: moto behind the middleware on a loopback port."""

    def __init__(self, port: int = 0, verbose: bool = False):
        require_moto()
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server

        import ec2_patches
        from middleware import EmulatorMiddleware

        ec2_patches.apply()
        self.middleware = EmulatorMiddleware(DomainDispatcherApplication(create_backend_app))

        class RequestHandler(WSGIRequestHandler):
            def log_request(self, code: Any = "-", size: Any = "-") -> None:
                if verbose:
                    super().log_request(code, size)

        self._server = make_server(
            LISTEN_ADDRESS, port, self.middleware, threaded=True, request_handler=RequestHandler
        )
        self.port = self._server.server_address[1]
        self.url = f"http://{LISTEN_ADDRESS}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> "EmulatorServer":
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="emulator-server", daemon=True
        )
        self._thread.start()
        log.info("emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Release held requests, stop accepting connections and close the socket."""
        self.middleware.faults.stop()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        log.info("emulator on %s stopped", self.url)


def write_ready_file(path: str, port: int) -> None:
    """Write {"port": N, "pid": P} so that a reader never sees a partial file."""
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"port": port, "pid": os.getpid()}) + "\n")
    os.replace(temporary, target)


def _watch_stdin(stop: threading.Event) -> None:
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except (OSError, ValueError):
        pass
    log.info("standard input closed; stopping")
    stop.set()


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="EC2 emulator (moto 5.2.1) for tgw-vip tests, on 127.0.0.1 only.")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1; 0 picks a free port (default 0)")
    parser.add_argument("--ready-file", help='file that receives {"port": N, "pid": P} once the server listens')
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="exit when standard input is closed, so the emulator never outlives the process that spawned it",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request and every fault change")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    logging.basicConfig(
        level=logging.INFO if arguments.verbose else logging.WARNING,
        format="emulator: %(levelname)s %(message)s",
    )
    # Nothing in this process may look for real credentials or instance metadata.
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

    # Stop requests are watched before the slow moto import, so that a signal
    # or a closed stdin during startup is not lost.
    stop = threading.Event()

    def request_stop(signal_number: int, _frame: Any) -> None:
        log.info("received signal %d; stopping", signal_number)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if arguments.exit_on_stdin_eof:
        threading.Thread(target=_watch_stdin, args=(stop,), name="stdin-watch", daemon=True).start()

    try:
        server = EmulatorServer(port=arguments.port, verbose=arguments.verbose).start()
    except OSError as error:
        print(f"error: cannot listen on {LISTEN_ADDRESS}:{arguments.port}: {error}", file=sys.stderr)
        return 1

    if arguments.ready_file:
        write_ready_file(arguments.ready_file, server.port)
    print(f"READY {server.url}", flush=True)

    while not stop.wait(timeout=0.2):
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
