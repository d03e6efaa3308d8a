#!/usr/bin/env python3
"""Print the VIP route of every managed route table in the emulator.

Usage:
    python3 tests/emulator/show_routes.py --endpoint http://127.0.0.1:PORT --ids DIR/ids.json [--json]
        [--vip CIDR]

--vip reads the routes of another destination than the layout's VIP, such
as 172.16.0.2/32 or the IPv6 host route fd00::1/128.

Reads the tables listed in ids.json (written by topology.py): each server's and
client VPC's route tables (DescribeRouteTables) and each transit gateway's
route table (SearchTransitGatewayRoutes with route-search.exact-match). It
reads the emulator directly, not through tgw-vip, and its calls carry
X-Emulator-Bypass: 1, so they are not counted and not hit by faults.

Row fields:
    kind      vpc or tgw
    owner     server name, client VPC name or transit gateway id
    region    the table's region
    table     route table id
    target    ENI, transit gateway or attachment ids of the VIP route
    resource  for a TGW route, the VPC or peer gateway behind the attachment
    state     active, blackhole, or missing when the table has no VIP route
    type      the route's Origin for a VPC route, static or propagated for a TGW route
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clients import EndpointError, ec2_clients  # noqa: E402

# Route fields that name a VPC route's target, in the order they are checked.
VPC_ROUTE_TARGETS = (
    "NetworkInterfaceId",
    "TransitGatewayId",
    "InstanceId",
    "GatewayId",
    "NatGatewayId",
    "VpcPeeringConnectionId",
)

COLUMNS = ("kind", "owner", "region", "table", "target", "resource", "state", "type")


def _vpc_rows(ec2: Any, owner: str, region: str, tables: list[str], vip_cidr: str) -> list[dict[str, str]]:
    if not tables:
        return []
    found = ec2.describe_route_tables(RouteTableIds=tables)["RouteTables"]
    by_id = {table["RouteTableId"]: table for table in found}
    rows = []
    for table_id in tables:
        route = next(
            (
                r
                for r in by_id[table_id]["Routes"]
                if vip_cidr in (r.get("DestinationCidrBlock"), r.get("DestinationIpv6CidrBlock"))
            ),
            None,
        )
        row = {"kind": "vpc", "owner": owner, "region": region, "table": table_id,
               "target": "-", "resource": "-", "state": "missing", "type": "-"}
        if route is not None:
            row["target"] = next((route[key] for key in VPC_ROUTE_TARGETS if route.get(key)), "-")
            row["state"] = route.get("State", "-")
            row["type"] = route.get("Origin", "-")
        rows.append(row)
    return rows


def _tgw_row(ec2: Any, tgw: str, region: str, table_id: str, vip_cidr: str) -> dict[str, str]:
    routes = ec2.search_transit_gateway_routes(
        TransitGatewayRouteTableId=table_id,
        Filters=[{"Name": "route-search.exact-match", "Values": [vip_cidr]}],
    )["Routes"]
    row = {"kind": "tgw", "owner": tgw, "region": region, "table": table_id,
           "target": "-", "resource": "-", "state": "missing", "type": "-"}
    if routes:
        route = routes[0]
        attachments = route.get("TransitGatewayAttachments", [])
        row["target"] = ",".join(a["TransitGatewayAttachmentId"] for a in attachments) or "-"
        row["resource"] = ",".join(a["ResourceId"] for a in attachments) or "-"
        row["state"] = route.get("State", "-")
        row["type"] = route.get("Type", "-")
    return row


def read_vip_routes(endpoint: str, ids: dict[str, Any], vip_cidr: str | None = None) -> list[dict[str, str]]:
    """Return one row per managed route table for the VIP route."""
    vip_cidr = vip_cidr or ids["vip_cidr"]
    regions = sorted(
        {server["region"] for server in ids["servers"].values()}
        | {client["region"] for client in ids.get("client_vpcs", {}).values()}
        | {gateway["region"] for gateway in ids["gateways"].values()}
    )
    clients = ec2_clients(endpoint, regions, max_attempts=1)
    rows = []
    for name, server in ids["servers"].items():
        rows += _vpc_rows(clients[server["region"]], name, server["region"], server["route_tables"], vip_cidr)
    for name, client in ids.get("client_vpcs", {}).items():
        rows += _vpc_rows(clients[client["region"]], name, client["region"], client["route_tables"], vip_cidr)
    for tgw, gateway in ids["gateways"].items():
        rows.append(_tgw_row(clients[gateway["region"]], tgw, gateway["region"], gateway["route_table"], vip_cidr))
    return rows


def format_table(rows: list[dict[str, str]]) -> str:
    widths = {column: max([len(column)] + [len(row[column]) for row in rows]) for column in COLUMNS}
    lines = ["  ".join(column.upper().ljust(widths[column]) for column in COLUMNS).rstrip()]
    for row in rows:
        lines.append("  ".join(row[column].ljust(widths[column]) for column in COLUMNS).rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Show the VIP route of every managed route table.")
    parser.add_argument("--endpoint", required=True, help="emulator URL, http://127.0.0.1:PORT")
    parser.add_argument("--ids", required=True, help="ids.json written by topology.py")
    parser.add_argument("--json", action="store_true", help="print a JSON list of rows instead of a table")
    parser.add_argument("--vip", help="destination CIDR to read instead of the layout's VIP (default from ids.json)")
    arguments = parser.parse_args(argv)
    try:
        ids = json.loads(Path(arguments.ids).read_text())
    except (OSError, json.JSONDecodeError) as error:
        print(f"error: cannot read ids file {arguments.ids}: {error}", file=sys.stderr)
        return 2
    try:
        rows = read_vip_routes(arguments.endpoint, ids, arguments.vip)
    except EndpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if arguments.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"VIP {arguments.vip or ids['vip_cidr']}")
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
