"""Tests of the EC2 emulator, the topology builder and show_routes.py.

Run with: python3 -m pytest tests/emulator
Every request goes to an emulator process on 127.0.0.1 started by these tests.
"""

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

try:
    import boto3  # noqa: F401
    import moto  # noqa: F401
    import yaml
    from botocore.config import Config
    from botocore.exceptions import ClientError, HTTPClientError, ReadTimeoutError
except ImportError as missing:
    raise ImportError(
        f"{missing}. The emulator tests need moto[server]==5.2.1, boto3 and PyYAML: "
        "run 'pip install -r tests/emulator/requirements.txt'"
    ) from missing

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from clients import EndpointError, check_loopback_endpoint, ec2_client, use_test_environment  # noqa: E402
from show_routes import format_table, read_vip_routes  # noqa: E402
from topology import VIP_CIDR, build_topology  # noqa: E402

TOKYO = "ap-northeast-1"
SINGAPORE = "ap-southeast-1"
SERVER_A = "server-a.test.local"
SERVER_B = "server-b.test.local"
STARTUP_TIMEOUT_SECONDS = 60

use_test_environment()


# ---------------------------------------------------------------------------
# Fixtures and helpers


class EmulatorProcess:
    def __init__(self, tmp_path: Path, extra_args: list[str] | None = None, stdin_eof: bool = True):
        self.ready_file = tmp_path / "ready.json"
        self.stderr_path = tmp_path / "emulator.stderr"
        arguments = [sys.executable, str(HERE / "emulator.py"), "--port", "0", "--ready-file", str(self.ready_file)]
        if stdin_eof:
            arguments.append("--exit-on-stdin-eof")
        self.process = subprocess.Popen(
            arguments + (extra_args or []),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr_path.open("wb"),
        )
        readable, _, _ = select.select([self.process.stdout], [], [], STARTUP_TIMEOUT_SECONDS)
        self.banner = self.process.stdout.readline().decode().strip() if readable else ""
        if not self.banner.startswith("READY "):
            self.process.kill()
            raise AssertionError(
                f"emulator did not start; banner {self.banner!r}; stderr:\n{self.stderr_path.read_text()}"
            )
        self.url = self.banner.split(" ", 1)[1]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                return self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        return self.process.returncode


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One emulator for the module; its teardown checks the exit on stdin EOF."""
    process = EmulatorProcess(tmp_path_factory.mktemp("emulator"))
    yield process
    assert process.stop() == 0


def control(url: str, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw
    if data is None and body is not None:
        data = json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def counters(url: str) -> dict[str, Any]:
    return control(url, "GET", "/_emulator/counters")[1]


def set_faults(url: str, faults: dict[str, Any]) -> dict[str, Any]:
    status, document = control(url, "POST", "/_emulator/faults", faults)
    assert status == 200, document
    return document


def ec2(url: str, region: str, read_timeout: float = 10, user_agent_extra: str | None = None) -> Any:
    config = Config(
        retries={"mode": "standard", "total_max_attempts": 1},
        read_timeout=read_timeout,
        connect_timeout=5,
        user_agent_extra=user_agent_extra,
    )
    return ec2_client(url, region, config)


def error_of(call: Any, *args: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def vip_route(client: Any, table_id: str) -> dict[str, Any] | None:
    table = client.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
    return next((r for r in table["Routes"] if r.get("DestinationCidrBlock") == VIP_CIDR), None)


def tgw_routes(client: Any, table_id: str, name: str, values: list[str]) -> list[dict[str, Any]]:
    return client.search_transit_gateway_routes(
        TransitGatewayRouteTableId=table_id, Filters=[{"Name": name, "Values": values}]
    )["Routes"]


class Topology:
    """The reference layout's ids with named shortcuts."""

    def __init__(self, url: str, ids: dict[str, Any], out: Path):
        self.url = url
        self.ids = ids
        self.out = out
        self.a = ids["servers"][SERVER_A]
        self.b = ids["servers"][SERVER_B]
        self.gateway_a = ids["gateways"][self.a["tgw"]]
        self.gateway_b = ids["gateways"][self.b["tgw"]]
        self.peering = self.gateway_a["peerings"][self.b["tgw"]]
        self.tokyo = ec2(url, TOKYO)
        self.singapore = ec2(url, SINGAPORE)


@pytest.fixture(scope="module")
def shared_layout(emulator: EmulatorProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("shared-layout")
    return {"ids": build_topology(emulator.url, out), "out": out}


@pytest.fixture
def shared(emulator: EmulatorProcess, shared_layout: dict[str, Any]) -> Topology:
    """The module's reference layout, for tests that change no route in it.

    Counters are reset and faults cleared. The layout is rebuilt when a moto
    reset has removed it.
    """
    assert control(emulator.url, "POST", "/_emulator/faults/clear")[0] == 200
    probe = ec2_client(emulator.url, TOKYO, bypass=True)
    vpc = shared_layout["ids"]["servers"][SERVER_A]["vpc"]
    if not probe.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Vpcs"]:
        shared_layout["ids"] = build_topology(emulator.url, shared_layout["out"])
    assert control(emulator.url, "POST", "/_emulator/counters/reset")[0] == 200
    return Topology(emulator.url, shared_layout["ids"], shared_layout["out"])


@pytest.fixture
def topo(emulator: EmulatorProcess, tmp_path: Path) -> Topology:
    """A fresh reference layout, with counters reset and no faults.

    Layouts of earlier tests stay in the emulator because a moto reset makes
    the next build pay for recreating every region, so checks on
    account-wide results are limited to this layout's ids.
    """
    assert control(emulator.url, "POST", "/_emulator/faults/clear")[0] == 200
    ids = build_topology(emulator.url, tmp_path)
    assert control(emulator.url, "POST", "/_emulator/counters/reset")[0] == 200
    return Topology(emulator.url, ids, tmp_path)


# ---------------------------------------------------------------------------
# Process and control API


def test_ready_file_and_banner(emulator: EmulatorProcess) -> None:
    ready = json.loads(emulator.ready_file.read_text())
    assert ready == {"port": ready["port"], "pid": emulator.process.pid}
    assert emulator.banner == f"READY http://127.0.0.1:{ready['port']}"


def test_control_endpoints(emulator: EmulatorProcess) -> None:
    assert control(emulator.url, "GET", "/_emulator/health") == (200, {"ok": True})
    assert control(emulator.url, "GET", "/_emulator/nothing")[0] == 404
    assert control(emulator.url, "GET", "/_emulator/faults/clear")[0] == 405
    status, faults = control(emulator.url, "POST", "/_emulator/faults/clear")
    assert status == 200
    assert faults == {"latency_ms": {}, "errors": [], "hang_regions": [], "hang_seconds": None, "deny": []}


def test_fault_request_validation(emulator: EmulatorProcess) -> None:
    url = emulator.url
    control(url, "POST", "/_emulator/faults/clear")
    status, document = control(url, "POST", "/_emulator/faults", {"errors": [{"operation": "ReplaceRoute", "count": 0}]})
    assert status == 400
    assert "count" in document["error"]
    assert control(url, "POST", "/_emulator/faults", {"bogus": 1})[0] == 400
    assert control(url, "POST", "/_emulator/faults", raw=b"{not json")[0] == 400
    assert control(url, "GET", "/_emulator/faults")[1]["errors"] == []


def test_faults_merge(emulator: EmulatorProcess) -> None:
    url = emulator.url
    control(url, "POST", "/_emulator/faults/clear")
    set_faults(url, {"latency_ms": {TOKYO: 10}, "deny": ["ReplaceRoute"], "hang_seconds": 5})
    merged = set_faults(url, {"latency_ms": {SINGAPORE: 20}, "deny": ["CreateRoute"], "errors": [{"operation": "DescribeVpcs"}]})
    assert merged["latency_ms"] == {TOKYO: 10, SINGAPORE: 20}
    assert merged["deny"] == ["CreateRoute", "ReplaceRoute"]
    assert merged["hang_seconds"] == 5
    assert merged["errors"][0]["operation"] == "DescribeVpcs"
    assert merged["errors"][0]["count"] == 1
    assert merged["errors"][0]["code"] == "InternalError"
    assert merged["errors"][0]["status"] == 500
    removed = set_faults(url, {"latency_ms": {TOKYO: 0}, "hang_seconds": None})
    assert removed["latency_ms"] == {SINGAPORE: 20}
    assert removed["hang_seconds"] is None
    control(url, "POST", "/_emulator/faults/clear")
    assert control(url, "GET", "/_emulator/faults")[1]["deny"] == []


def test_region_from_credential_scope(shared: Topology) -> None:
    misleading = ec2(shared.url, TOKYO, user_agent_extra=f"region/{SINGAPORE}")
    vpc_ids = [vpc["VpcId"] for vpc in misleading.describe_vpcs()["Vpcs"]]
    assert shared.a["vpc"] in vpc_ids
    assert shared.b["vpc"] not in vpc_ids


# ---------------------------------------------------------------------------
# Topology builder and show_routes.py


def test_reference_config_file(shared: Topology) -> None:
    config = yaml.safe_load((shared.out / "tgw.conf").read_text())
    assert config["servers"] == {
        SERVER_A: {"vpc": shared.a["vpc"], "eni": shared.a["eni"]},
        SERVER_B: {"vpc": shared.b["vpc"], "eni": shared.b["eni"]},
    }
    assert config["gateways"][shared.a["tgw"]] == {
        "type": "tgw",
        "region": TOKYO,
        "routeTable": shared.gateway_a["route_table"],
        "attaches": {shared.a["attachment"]: shared.a["vpc"]},
        "peerings": {shared.b["tgw"]: shared.peering},
    }
    assert config["gateways"][shared.b["tgw"]]["peerings"] == {shared.a["tgw"]: shared.peering}
    assert json.loads((shared.out / "ids.json").read_text()) == shared.ids


def test_reference_vpc_layout(shared: Topology) -> None:
    tables = shared.tokyo.describe_route_tables(RouteTableIds=shared.a["route_tables"])["RouteTables"]
    associated_subnets = {a["SubnetId"] for t in tables for a in t["Associations"]}
    assert associated_subnets == {shared.a["subnets"]["public"], shared.a["subnets"]["private"]}
    for table in tables:
        targets = {r["DestinationCidrBlock"]: r.get("TransitGatewayId") for r in table["Routes"]}
        assert targets[VIP_CIDR] == shared.a["tgw"]
        assert targets["10.1.0.0/16"] == shared.a["tgw"]
    eni = shared.tokyo.describe_network_interfaces(NetworkInterfaceIds=[shared.a["eni"]])["NetworkInterfaces"][0]
    assert eni["SubnetId"] == shared.a["subnets"]["private"]
    assert eni["SourceDestCheck"] is False


def test_peering_seen_from_both_regions(shared: Topology) -> None:
    tokyo_view = shared.tokyo.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[shared.peering])
    singapore_view = shared.singapore.describe_transit_gateway_attachments(TransitGatewayAttachmentIds=[shared.peering])
    tokyo_attachment = tokyo_view["TransitGatewayAttachments"][0]
    singapore_attachment = singapore_view["TransitGatewayAttachments"][0]
    assert (tokyo_attachment["TransitGatewayId"], tokyo_attachment["ResourceId"]) == (shared.a["tgw"], shared.b["tgw"])
    assert (singapore_attachment["TransitGatewayId"], singapore_attachment["ResourceId"]) == (shared.b["tgw"], shared.a["tgw"])
    assert tokyo_attachment["State"] == singapore_attachment["State"] == "available"
    assert tokyo_attachment["Association"]["TransitGatewayRouteTableId"] == shared.gateway_a["route_table"]
    assert singapore_attachment["Association"]["TransitGatewayRouteTableId"] == shared.gateway_b["route_table"]
    peering = shared.singapore.describe_transit_gateway_peering_attachments(TransitGatewayAttachmentIds=[shared.peering])
    info = peering["TransitGatewayPeeringAttachments"][0]
    assert info["RequesterTgwInfo"] == {"TransitGatewayId": shared.a["tgw"], "OwnerId": "123456789012", "Region": TOKYO}
    assert info["AccepterTgwInfo"] == {"TransitGatewayId": shared.b["tgw"], "OwnerId": "123456789012", "Region": SINGAPORE}
    listed = shared.singapore.describe_transit_gateway_peering_attachments()["TransitGatewayPeeringAttachments"]
    assert shared.b["attachment"] not in {p["TransitGatewayAttachmentId"] for p in listed}


def test_show_routes_placeholders(shared: Topology) -> None:
    rows = read_vip_routes(shared.url, shared.ids)
    vpc_rows = [r for r in rows if r["kind"] == "vpc"]
    tgw_rows = {r["owner"]: r for r in rows if r["kind"] == "tgw"}
    assert len(vpc_rows) == 4
    assert all(r["state"] == "active" for r in rows)
    assert {r["target"] for r in vpc_rows if r["owner"] == SERVER_A} == {shared.a["tgw"]}
    assert tgw_rows[shared.a["tgw"]]["target"] == shared.a["attachment"]
    assert tgw_rows[shared.b["tgw"]]["target"] == shared.b["attachment"]


def test_show_routes_cli(shared: Topology) -> None:
    command = [
        sys.executable, str(HERE / "show_routes.py"), "--endpoint", shared.url, "--ids", str(shared.out / "ids.json"), "--json",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    rows = json.loads(result.stdout)
    in_process = read_vip_routes(shared.url, shared.ids)
    assert sorted(rows, key=lambda row: row["table"]) == sorted(in_process, key=lambda row: row["table"])
    table = format_table(rows).splitlines()
    assert table[0].split() == ["KIND", "OWNER", "REGION", "TABLE", "TARGET", "RESOURCE", "STATE", "TYPE"]
    assert len(table) == 1 + len(rows)


def test_builder_and_reader_are_not_counted(shared: Topology) -> None:
    read_vip_routes(shared.url, shared.ids)
    assert counters(shared.url)["total"] == 0


def test_other_layouts(emulator: EmulatorProcess, tmp_path: Path) -> None:
    mesh = build_topology(emulator.url, tmp_path / "mesh", layout="mesh", tables_per_vpc=1)
    assert len(mesh["peerings"]) == 3
    assert all(len(g["peerings"]) == 2 for g in mesh["gateways"].values())
    assert sorted(mesh["servers"]) == ["server-1.test.local", "server-2.test.local", "server-3.test.local"]
    assert {s["region"] for s in mesh["servers"].values()} == {TOKYO, SINGAPORE, "us-east-1"}

    chain = build_topology(emulator.url, tmp_path / "chain", layout="chain", regions=4, tables_per_vpc=1)
    assert len(chain["peerings"]) == 3
    assert sorted(len(g["peerings"]) for g in chain["gateways"].values()) == [1, 1, 2, 2]


def test_client_vpc_layout_cli(emulator: EmulatorProcess, tmp_path: Path) -> None:
    command = [
        sys.executable, str(HERE / "topology.py"), "--endpoint", emulator.url, "--out", str(tmp_path),
        "--layout", "client-vpc", "--tables-per-vpc", "1", "--no-eni",
    ]
    subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    ids = json.loads((tmp_path / "ids.json").read_text())
    config = yaml.safe_load((tmp_path / "tgw.conf").read_text())
    client = ids["client_vpcs"]["client-1"]
    tgw_a = ids["servers"][SERVER_A]["tgw"]
    assert config["gateways"][tgw_a]["attaches"][client["attachment"]] == client["vpc"]
    assert len(config["gateways"][tgw_a]["attaches"]) == 2
    assert all("eni" not in server for server in config["servers"].values())
    assert vip_route(ec2(emulator.url, TOKYO), client["route_tables"][0])["TransitGatewayId"] == tgw_a


def test_endpoint_must_be_loopback() -> None:
    # Only the check runs here, so nothing is sent to these addresses.
    for endpoint in ("http://192.0.2.1:5000", "http://example.com:80", "https://127.0.0.1:5000", "http://127.0.0.1"):
        with pytest.raises(EndpointError):
            check_loopback_endpoint(endpoint)
    assert check_loopback_endpoint("http://127.0.0.1:5000/") == "http://127.0.0.1:5000"
    assert check_loopback_endpoint("http://localhost:5000") == "http://localhost:5000"


def test_topology_cli_rejects_endpoint(tmp_path: Path) -> None:
    command = [sys.executable, str(HERE / "topology.py"), "--endpoint", "https://127.0.0.1:1", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "invalid endpoint" in result.stderr


# ---------------------------------------------------------------------------
# Transit Gateway routes


def test_replace_tgw_route_to_peering(topo: Topology) -> None:
    raw: dict[str, bytes] = {}
    topo.tokyo.meta.events.register(
        "after-call.ec2.ReplaceTransitGatewayRoute",
        lambda http_response, **_: raw.setdefault("body", http_response.content),
    )
    route = topo.tokyo.replace_transit_gateway_route(
        TransitGatewayRouteTableId=topo.gateway_a["route_table"],
        DestinationCidrBlock=VIP_CIDR,
        TransitGatewayAttachmentId=topo.peering,
    )["Route"]
    assert route["State"] == "active"
    assert route["Type"] == "static"
    assert route["TransitGatewayAttachments"] == [
        {"ResourceId": topo.b["tgw"], "ResourceType": "peering", "TransitGatewayAttachmentId": topo.peering}
    ]
    body = raw["body"].decode()
    assert "<ReplaceTransitGatewayRouteResponse" in body
    assert f"<route><destinationCidrBlock>{VIP_CIDR}</destinationCidrBlock>" in body.replace("\n", "").replace(" ", "")
    assert f"<transitGatewayAttachmentId>{topo.peering}</transitGatewayAttachmentId>" in body
    found = tgw_routes(topo.tokyo, topo.gateway_a["route_table"], "route-search.exact-match", [VIP_CIDR])
    assert found[0]["TransitGatewayAttachments"][0]["TransitGatewayAttachmentId"] == topo.peering


def test_replace_tgw_route_from_and_to_blackhole(topo: Topology) -> None:
    table = topo.gateway_a["route_table"]
    created = topo.tokyo.create_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock="172.16.0.2/32", Blackhole=True
    )["Route"]
    assert created["State"] == "blackhole"
    assert "TransitGatewayAttachments" not in created
    replaced = topo.tokyo.replace_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock="172.16.0.2/32", TransitGatewayAttachmentId=topo.a["attachment"]
    )["Route"]
    assert replaced["State"] == "active"
    to_blackhole = topo.tokyo.replace_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock=VIP_CIDR, Blackhole=True
    )["Route"]
    assert to_blackhole["State"] == "blackhole"
    assert tgw_routes(topo.tokyo, table, "state", ["blackhole"])[0]["DestinationCidrBlock"] == VIP_CIDR


def test_replace_missing_tgw_route(shared: Topology) -> None:
    code, status, _ = error_of(
        shared.tokyo.replace_transit_gateway_route,
        TransitGatewayRouteTableId=shared.gateway_a["route_table"],
        DestinationCidrBlock="172.16.0.9/32",
        TransitGatewayAttachmentId=shared.a["attachment"],
    )
    assert (code, status) == ("InvalidRoute.NotFound", 400)


def test_tgw_route_target_validation(shared: Topology) -> None:
    table = shared.gateway_a["route_table"]
    code, status, _ = error_of(
        shared.tokyo.create_transit_gateway_route,
        TransitGatewayRouteTableId=table, DestinationCidrBlock="172.16.0.9/32", TransitGatewayAttachmentId="tgw-attach-0000000000000000",
    )
    assert (code, status) == ("InvalidTransitGatewayAttachmentID.NotFound", 400)
    code, _, _ = error_of(
        shared.tokyo.create_transit_gateway_route,
        TransitGatewayRouteTableId="tgw-rtb-0000000000000000", DestinationCidrBlock="172.16.0.9/32", Blackhole=True,
    )
    assert code == "InvalidRouteTableID.NotFound"


def test_search_tgw_routes_filters(shared: Topology) -> None:
    table = shared.gateway_a["route_table"]
    exact = tgw_routes(shared.tokyo, table, "route-search.exact-match", [VIP_CIDR])
    assert len(exact) == 1
    assert exact[0]["TransitGatewayAttachments"] == [
        {"ResourceId": shared.a["vpc"], "ResourceType": "vpc", "TransitGatewayAttachmentId": shared.a["attachment"]}
    ]
    assert {r["DestinationCidrBlock"] for r in tgw_routes(shared.tokyo, table, "type", ["static"])} == {
        "10.0.0.0/16", "10.1.0.0/16", VIP_CIDR,
    }
    assert len(tgw_routes(shared.tokyo, table, "state", ["active"])) == 3
    assert tgw_routes(shared.tokyo, table, "state", ["blackhole"]) == []
    over_peering = tgw_routes(shared.tokyo, table, "attachment.transit-gateway-attachment-id", [shared.peering])
    assert [r["DestinationCidrBlock"] for r in over_peering] == ["10.1.0.0/16"]
    longest = tgw_routes(shared.tokyo, table, "route-search.longest-prefix-match", ["10.1.2.3/32"])
    assert [r["DestinationCidrBlock"] for r in longest] == ["10.1.0.0/16"]
    code, _, _ = error_of(tgw_routes, shared.tokyo, table, "no-such-filter", ["x"])
    assert code == "InvalidParameterValue"


def test_duplicate_static_tgw_route(shared: Topology) -> None:
    code, status, _ = error_of(
        shared.tokyo.create_transit_gateway_route,
        TransitGatewayRouteTableId=shared.gateway_a["route_table"],
        DestinationCidrBlock=VIP_CIDR,
        TransitGatewayAttachmentId=shared.peering,
    )
    assert (code, status) == ("RouteAlreadyExists", 400)


def test_static_route_over_propagated(topo: Topology) -> None:
    table = topo.tokyo.create_transit_gateway_route_table(TransitGatewayId=topo.a["tgw"])[
        "TransitGatewayRouteTable"
    ]["TransitGatewayRouteTableId"]
    topo.tokyo.enable_transit_gateway_route_table_propagation(
        TransitGatewayRouteTableId=table, TransitGatewayAttachmentId=topo.a["attachment"]
    )
    propagated = tgw_routes(topo.tokyo, table, "type", ["propagated"])
    assert [r["DestinationCidrBlock"] for r in propagated] == ["10.0.0.0/16"]
    topo.tokyo.create_transit_gateway_route(
        TransitGatewayRouteTableId=table, DestinationCidrBlock="10.0.0.0/16", TransitGatewayAttachmentId=topo.a["attachment"]
    )
    found = tgw_routes(topo.tokyo, table, "route-search.exact-match", ["10.0.0.0/16"])
    assert [r["Type"] for r in found] == ["static"]


def test_deleted_vpc_attachment_blackholes_routes(topo: Topology) -> None:
    topo.tokyo.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=topo.a["attachment"])
    routes = {r["DestinationCidrBlock"]: r for r in tgw_routes(topo.tokyo, topo.gateway_a["route_table"], "type", ["static"])}
    for cidr in (VIP_CIDR, "10.0.0.0/16"):
        assert routes[cidr]["State"] == "blackhole"
        assert "TransitGatewayAttachments" not in routes[cidr]
    assert routes["10.1.0.0/16"]["State"] == "active"
    # The VPC's routes to the gateway lose their attachment too.
    assert vip_route(topo.tokyo, topo.a["route_tables"][0])["State"] == "blackhole"


def test_deleted_peering_blackholes_both_sides(topo: Topology) -> None:
    topo.singapore.delete_transit_gateway_peering_attachment(TransitGatewayAttachmentId=topo.peering)
    tokyo = tgw_routes(topo.tokyo, topo.gateway_a["route_table"], "route-search.exact-match", ["10.1.0.0/16"])
    singapore = tgw_routes(topo.singapore, topo.gateway_b["route_table"], "route-search.exact-match", ["10.0.0.0/16"])
    assert tokyo[0]["State"] == "blackhole"
    assert singapore[0]["State"] == "blackhole"
    assert tgw_routes(topo.tokyo, topo.gateway_a["route_table"], "route-search.exact-match", [VIP_CIDR])[0]["State"] == "active"


# ---------------------------------------------------------------------------
# VPC routes


def test_replace_missing_vpc_route(shared: Topology) -> None:
    code, status, message = error_of(
        shared.tokyo.replace_route,
        RouteTableId=shared.a["route_tables"][0], DestinationCidrBlock="172.16.0.9/32", NetworkInterfaceId=shared.a["eni"],
    )
    assert (code, status) == ("InvalidParameterValue", 400)
    assert message == "There is no route defined for '172.16.0.9/32' in the route table. Use CreateRoute instead."


def test_replace_vpc_route_to_eni_and_back(topo: Topology) -> None:
    table = topo.a["route_tables"][0]
    topo.tokyo.replace_route(RouteTableId=table, DestinationCidrBlock=VIP_CIDR, NetworkInterfaceId=topo.a["eni"])
    route = vip_route(topo.tokyo, table)
    assert route["NetworkInterfaceId"] == topo.a["eni"]
    assert "TransitGatewayId" not in route
    assert (route["State"], route["Origin"]) == ("active", "CreateRoute")
    topo.tokyo.replace_route(RouteTableId=table, DestinationCidrBlock=VIP_CIDR, TransitGatewayId=topo.a["tgw"])
    route = vip_route(topo.tokyo, table)
    assert route["TransitGatewayId"] == topo.a["tgw"]
    assert "NetworkInterfaceId" not in route


def test_route_to_deleted_eni_is_blackhole(topo: Topology) -> None:
    table = topo.a["route_tables"][0]
    spare = topo.tokyo.create_network_interface(SubnetId=topo.a["subnets"]["private"])["NetworkInterface"]["NetworkInterfaceId"]
    topo.tokyo.replace_route(RouteTableId=table, DestinationCidrBlock=VIP_CIDR, NetworkInterfaceId=spare)
    topo.tokyo.delete_network_interface(NetworkInterfaceId=spare)
    route = vip_route(topo.tokyo, table)
    assert route["State"] == "blackhole"
    assert route["NetworkInterfaceId"] == spare
    found = topo.tokyo.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [topo.a["vpc"]]}, {"Name": "route.state", "Values": ["blackhole"]}]
    )["RouteTables"]
    assert [t["RouteTableId"] for t in found] == [table]


def test_create_vpc_route_validation(topo: Topology) -> None:
    table = topo.a["route_tables"][0]
    code, status, _ = error_of(
        topo.tokyo.create_route, RouteTableId=table, DestinationCidrBlock=VIP_CIDR, NetworkInterfaceId=topo.a["eni"]
    )
    assert (code, status) == ("RouteAlreadyExists", 400)
    code, _, _ = error_of(
        topo.tokyo.create_route, RouteTableId=table, DestinationCidrBlock="172.16.0.9/32", TransitGatewayId=topo.b["tgw"]
    )
    assert code == "InvalidTransitGatewayID.NotFound"
    other_vpc = topo.tokyo.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    other_subnet = topo.tokyo.create_subnet(VpcId=other_vpc, CidrBlock="10.50.1.0/24")["Subnet"]["SubnetId"]
    foreign_eni = topo.tokyo.create_network_interface(SubnetId=other_subnet)["NetworkInterface"]["NetworkInterfaceId"]
    code, _, message = error_of(
        topo.tokyo.replace_route, RouteTableId=table, DestinationCidrBlock=VIP_CIDR, NetworkInterfaceId=foreign_eni
    )
    assert code == "InvalidParameterValue"
    assert "belong to different networks" in message


def test_describe_route_tables_filters(topo: Topology) -> None:
    client = topo.tokyo
    first, second = sorted(topo.a["route_tables"])
    client.replace_route(RouteTableId=first, DestinationCidrBlock=VIP_CIDR, NetworkInterfaceId=topo.a["eni"])

    def table_ids(name: str, values: list[str]) -> set[str]:
        found = client.describe_route_tables(Filters=[{"Name": name, "Values": values}])["RouteTables"]
        return {t["RouteTableId"] for t in found}

    def own_table_ids(name: str, values: list[str]) -> set[str]:
        return table_ids(name, values) & {first, second}

    default_vpc = next(v["VpcId"] for v in client.describe_vpcs()["Vpcs"] if v["IsDefault"])
    in_vpc_a = table_ids("vpc-id", [topo.a["vpc"]])
    in_default_vpc = table_ids("vpc-id", [default_vpc])
    assert {first, second} < in_vpc_a
    assert in_default_vpc
    assert table_ids("vpc-id", [topo.a["vpc"], default_vpc]) == in_vpc_a | in_default_vpc
    assert own_table_ids("route.destination-cidr-block", [VIP_CIDR]) == {first, second}
    assert table_ids("route.network-interface-id", [topo.a["eni"]]) == {first}
    assert table_ids("route.transit-gateway-id", [topo.a["tgw"]]) == {first, second}
    assert own_table_ids("route.state", ["blackhole"]) == set()
    assert own_table_ids("route.state", ["active"]) == {first, second}
    # Several values of one filter match a table that has any of them.
    assert own_table_ids("route.destination-cidr-block", ["10.1.0.0/16", "172.16.0.99/32"]) == {first, second}
    code, _, _ = error_of(client.describe_route_tables, Filters=[{"Name": "route.no-such", "Values": ["x"]}])
    assert code == "InvalidParameterValue"


# ---------------------------------------------------------------------------
# DryRun and deny


def _dry_run_calls(topo: Topology) -> dict[str, Any]:
    table = topo.a["route_tables"][0]
    tgw_table = topo.gateway_a["route_table"]
    tokyo = topo.tokyo
    return {
        "DescribeRouteTables": lambda: tokyo.describe_route_tables(DryRun=True),
        "SearchTransitGatewayRoutes": lambda: tokyo.search_transit_gateway_routes(
            TransitGatewayRouteTableId=tgw_table, Filters=[{"Name": "route-search.exact-match", "Values": [VIP_CIDR]}], DryRun=True
        ),
        "ReplaceRoute": lambda: tokyo.replace_route(
            RouteTableId=table, DestinationCidrBlock=VIP_CIDR, NetworkInterfaceId=topo.a["eni"], DryRun=True
        ),
        "CreateRoute": lambda: tokyo.create_route(
            RouteTableId=table, DestinationCidrBlock="172.16.0.9/32", NetworkInterfaceId=topo.a["eni"], DryRun=True
        ),
        "ReplaceTransitGatewayRoute": lambda: tokyo.replace_transit_gateway_route(
            TransitGatewayRouteTableId=tgw_table, DestinationCidrBlock=VIP_CIDR, TransitGatewayAttachmentId=topo.peering, DryRun=True
        ),
        "CreateTransitGatewayRoute": lambda: tokyo.create_transit_gateway_route(
            TransitGatewayRouteTableId=tgw_table, DestinationCidrBlock="172.16.0.9/32", TransitGatewayAttachmentId=topo.peering, DryRun=True
        ),
        "DescribeTransitGatewayAttachments": lambda: tokyo.describe_transit_gateway_attachments(DryRun=True),
        "DescribeNetworkInterfaces": lambda: tokyo.describe_network_interfaces(DryRun=True),
        "DescribeTransitGatewayRouteTables": lambda: tokyo.describe_transit_gateway_route_tables(DryRun=True),
        "DescribeVpcs": lambda: tokyo.describe_vpcs(DryRun=True),
    }


def test_dry_run_executes_nothing(shared: Topology) -> None:
    before = read_vip_routes(shared.url, shared.ids)
    for operation, call in _dry_run_calls(shared).items():
        code, status, message = error_of(call)
        assert (operation, code, status) == (operation, "DryRunOperation", 412)
        assert message == "Request would have succeeded, but DryRun flag is set."
    assert read_vip_routes(shared.url, shared.ids) == before
    assert vip_route(shared.tokyo, shared.a["route_tables"][0])["TransitGatewayId"] == shared.a["tgw"]
    assert tgw_routes(shared.tokyo, shared.gateway_a["route_table"], "route-search.exact-match", ["172.16.0.9/32"]) == []
    counted = counters(shared.url)
    assert counted["writes"] == 0
    assert counted["dry_runs"] == 10


def test_denied_actions_return_unauthorized(shared: Topology) -> None:
    set_faults(shared.url, {"deny": ["ReplaceTransitGatewayRoute", "ReplaceRoute"]})
    calls = _dry_run_calls(shared)
    for operation in ("ReplaceTransitGatewayRoute", "ReplaceRoute"):
        code, status, message = error_of(calls[operation])
        assert (operation, code, status) == (operation, "UnauthorizedOperation", 403)
        assert f"ec2:{operation}" in message
    code, status, _ = error_of(
        shared.tokyo.replace_route,
        RouteTableId=shared.a["route_tables"][0], DestinationCidrBlock=VIP_CIDR, NetworkInterfaceId=shared.a["eni"],
    )
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert vip_route(shared.tokyo, shared.a["route_tables"][0])["TransitGatewayId"] == shared.a["tgw"]
    assert error_of(calls["CreateRoute"])[0] == "DryRunOperation"


# ---------------------------------------------------------------------------
# Counters


def test_counters_per_region_and_operation(topo: Topology) -> None:
    url = topo.url
    topo.tokyo.describe_route_tables()
    topo.tokyo.describe_route_tables()
    topo.singapore.describe_route_tables()
    topo.tokyo.replace_route(RouteTableId=topo.a["route_tables"][0], DestinationCidrBlock=VIP_CIDR, NetworkInterfaceId=topo.a["eni"])
    error_of(topo.tokyo.replace_route, RouteTableId=topo.a["route_tables"][0], DestinationCidrBlock="172.16.0.9/32", NetworkInterfaceId=topo.a["eni"])
    for _ in range(3):
        control(url, "GET", "/_emulator/health")
    counted = counters(url)
    assert counted["calls"] == {
        TOKYO: {"DescribeRouteTables": 2, "ReplaceRoute": 2},
        SINGAPORE: {"DescribeRouteTables": 1},
    }
    assert counted["total"] == 5
    assert counted["writes"] == 2
    assert counted["writes_ok"] == 1
    status, after_reset = control(url, "POST", "/_emulator/counters/reset")
    assert status == 200
    assert (after_reset["calls"], after_reset["total"], after_reset["writes"]) == ({}, 0, 0)


def test_moto_reset_clears_counters_and_faults(topo: Topology) -> None:
    set_faults(topo.url, {"latency_ms": {TOKYO: 5}, "deny": ["CreateRoute"]})
    topo.tokyo.describe_vpcs()
    assert control(topo.url, "POST", "/moto-api/reset")[0] == 200
    assert counters(topo.url)["total"] == 0
    assert control(topo.url, "GET", "/_emulator/faults")[1]["deny"] == []
    vpcs = topo.tokyo.describe_vpcs()["Vpcs"]
    assert topo.a["vpc"] not in {v["VpcId"] for v in vpcs}


# ---------------------------------------------------------------------------
# Faults


def _timed(call: Any) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def test_latency_applies_to_one_region(shared: Topology) -> None:
    set_faults(shared.url, {"latency_ms": {SINGAPORE: 600}})
    assert _timed(shared.singapore.describe_vpcs) >= 0.6
    assert _timed(shared.tokyo.describe_vpcs) < 0.45


def test_error_rule_count_and_region(topo: Topology) -> None:
    set_faults(topo.url, {"errors": [{"operation": "ReplaceRoute", "region": TOKYO, "count": 2, "code": "RequestLimitExceeded", "status": 503}]})

    def replace(client: Any, table: str, eni: str) -> Any:
        return client.replace_route(RouteTableId=table, DestinationCidrBlock=VIP_CIDR, NetworkInterfaceId=eni)

    replace(topo.singapore, topo.b["route_tables"][0], topo.b["eni"])
    for remaining in (1, 0):
        code, status, message = error_of(replace, topo.tokyo, topo.a["route_tables"][0], topo.a["eni"])
        assert (code, status, message) == ("RequestLimitExceeded", 503, "Request limit exceeded.")
        rules = control(topo.url, "GET", "/_emulator/faults")[1]["errors"]
        assert [rule["count"] for rule in rules] == ([remaining] if remaining else [])
    replace(topo.tokyo, topo.a["route_tables"][0], topo.a["eni"])
    assert vip_route(topo.tokyo, topo.a["route_tables"][0])["NetworkInterfaceId"] == topo.a["eni"]


def test_error_rule_dry_run_selector(shared: Topology) -> None:
    set_faults(shared.url, {"errors": [{"operation": "DescribeVpcs", "dry_run": False, "code": "InternalError", "status": 500}]})
    assert error_of(shared.tokyo.describe_vpcs, DryRun=True)[:2] == ("DryRunOperation", 412)
    assert error_of(shared.tokyo.describe_vpcs)[:2] == ("InternalError", 500)
    shared.tokyo.describe_vpcs()


def test_drop_closes_connection(shared: Topology) -> None:
    set_faults(shared.url, {"errors": [{"operation": "DescribeVpcs", "drop": True}]})
    with pytest.raises(HTTPClientError):
        shared.tokyo.describe_vpcs()
    shared.tokyo.describe_vpcs()


def test_hung_region_does_not_block_others(shared: Topology) -> None:
    set_faults(shared.url, {"hang_regions": [SINGAPORE]})
    impatient = ec2(shared.url, SINGAPORE, read_timeout=2)
    outcome: dict[str, Any] = {}

    def call_hung_region() -> None:
        try:
            impatient.describe_vpcs()
            outcome["result"] = "responded"
        except ReadTimeoutError:
            outcome["result"] = "timed out"

    waiter = threading.Thread(target=call_hung_region)
    waiter.start()
    time.sleep(0.2)
    # A Tokyo call that waited behind the held Singapore call would take
    # until the hang is cleared, which happens only after this check.
    assert _timed(shared.tokyo.describe_vpcs) < 1.0
    waiter.join(timeout=10)
    assert outcome["result"] == "timed out"
    control(shared.url, "POST", "/_emulator/faults/clear")
    shared.singapore.describe_vpcs()


def test_clearing_hang_drops_held_write(topo: Topology) -> None:
    set_faults(topo.url, {"hang_regions": [SINGAPORE]})
    outcome: dict[str, Any] = {}

    def held_write() -> None:
        started = time.monotonic()
        try:
            topo.singapore.create_route(
                RouteTableId=topo.b["route_tables"][0], DestinationCidrBlock="172.16.0.9/32", NetworkInterfaceId=topo.b["eni"]
            )
            outcome["result"] = "responded"
        except HTTPClientError:
            outcome["result"] = "dropped"
        outcome["seconds"] = time.monotonic() - started

    writer = threading.Thread(target=held_write)
    writer.start()
    time.sleep(0.5)
    control(topo.url, "POST", "/_emulator/faults/clear")
    writer.join(timeout=10)
    assert outcome["result"] == "dropped"
    assert outcome["seconds"] < 5
    table = topo.singapore.describe_route_tables(RouteTableIds=[topo.b["route_tables"][0]])["RouteTables"][0]
    assert "172.16.0.9/32" not in {r.get("DestinationCidrBlock") for r in table["Routes"]}


def test_hang_seconds_releases_request(shared: Topology) -> None:
    set_faults(shared.url, {"hang_regions": [SINGAPORE], "hang_seconds": 1})
    started = time.monotonic()
    with pytest.raises(HTTPClientError):
        shared.singapore.describe_vpcs()
    assert 0.9 <= time.monotonic() - started < 4
    control(shared.url, "POST", "/_emulator/faults/clear")


# ---------------------------------------------------------------------------
# Process lifetime


def test_exits_on_sigterm_with_held_request(tmp_path: Path) -> None:
    process = EmulatorProcess(tmp_path, stdin_eof=False)
    set_faults(process.url, {"hang_regions": [TOKYO]})
    client = ec2(process.url, TOKYO)
    outcome: dict[str, str] = {}

    def held_call() -> None:
        try:
            client.describe_vpcs()
            outcome["result"] = "responded"
        except HTTPClientError:
            outcome["result"] = "dropped"

    caller = threading.Thread(target=held_call)
    caller.start()
    time.sleep(0.3)
    os.kill(process.process.pid, signal.SIGTERM)
    assert process.process.wait(timeout=15) == 0
    caller.join(timeout=10)
    assert outcome["result"] == "dropped"
