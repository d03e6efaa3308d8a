"""boto3 EC2 clients for the emulator, restricted to loopback endpoints."""

import ipaddress
import os
import threading
from typing import Any
from urllib.parse import urlsplit

BYPASS_HEADER = "X-Emulator-Bypass"


class EndpointError(ValueError):
    """An endpoint that is not an http URL on the loopback interface."""


def check_loopback_endpoint(endpoint: str) -> str:
    """Return the endpoint if it is http://<loopback address>:<port>, else raise EndpointError."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if parts.scheme != "http" or parts.port is None:
        raise EndpointError(f"invalid endpoint {endpoint!r}: expected http://127.0.0.1:PORT")
    if host != "localhost":
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise EndpointError(
                f"endpoint {endpoint!r} is not on the loopback interface; "
                "the emulator only runs on 127.0.0.1"
            )
    return endpoint.rstrip("/")


def use_test_environment() -> None:
    """Set static test credentials and keep the SDK away from metadata and proxies."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    no_proxy = os.environ.get("NO_PROXY", "")
    for host in ("127.0.0.1", "localhost"):
        if host not in no_proxy.split(","):
            no_proxy = f"{no_proxy},{host}" if no_proxy else host
    os.environ["NO_PROXY"] = no_proxy
    os.environ["no_proxy"] = no_proxy


_session_lock = threading.Lock()
_session: Any = None


def shared_session() -> Any:
    """Return one boto3 session for the process.

    A session caches the parsed EC2 service model, which takes a large part
    of a second to load, so clients made from one session start fast.
    """
    global _session
    import boto3

    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session


def _add_bypass_header(request: Any, **_: Any) -> None:
    request.headers[BYPASS_HEADER] = "1"


def ec2_client(endpoint: str, region: str, config: Any = None, bypass: bool = False) -> Any:
    """Create an EC2 client for one region of the emulator at a loopback endpoint.

    With bypass=True every call carries X-Emulator-Bypass: 1, so the
    emulator neither counts it nor applies faults to it.
    """
    endpoint = check_loopback_endpoint(endpoint)
    use_test_environment()
    session = shared_session()
    # boto3 sessions are not safe for concurrent client creation.
    with _session_lock:
        client = session.client("ec2", region_name=region, endpoint_url=endpoint, config=config)
    if bypass:
        client.meta.events.register("before-sign.ec2.*", _add_bypass_header)
    return client


def ec2_clients(
    endpoint: str,
    regions: list[str],
    bypass: bool = True,
    max_attempts: int = 3,
    timeout_seconds: float = 30.0,
) -> dict[str, Any]:
    """Create one EC2 client per region, all aimed at the emulator."""
    from botocore.config import Config

    config = Config(
        # botocore's "max_attempts" counts retries only; "total_max_attempts"
        # counts the first attempt too.
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=timeout_seconds,
        read_timeout=timeout_seconds,
        max_pool_connections=32,
    )
    return {region: ec2_client(endpoint, region, config, bypass) for region in regions}
