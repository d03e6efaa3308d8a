#!/usr/bin/env python3
"""Build a tgw-vip deployment in the EC2 emulator and write its config and ids.

Usage:
    python3 tests/emulator/topology.py --endpoint http://127.0.0.1:PORT --out DIR
        [--layout reference|client-vpc|client-region|mesh|chain] [--regions N]
        [--tables-per-vpc K] [--no-eni]

Per server region it creates what a real deployment has:
    * a server VPC with a public and a private subnet;
    * K route tables, each associated with a subnet, that route the VIP and
      the other server VPCs to the region's transit gateway;
    * an ENI for the server in the private subnet, with SourceDestCheck off;
    * a transit gateway with default association and propagation disabled,
      and its VPC attachment;
    * a TGW route table, associated with the VPC attachment and the peering
      attachments. Its static routes send the own VPC CIDR and the VIP to the
      VPC attachment and the other server VPC CIDRs to the peerings.
The VIP routes point at the local transit gateway and attachment as
placeholders, as a deployment has them before tgw-vip's first start.

Layouts:
    reference   ap-northeast-1 (server-a.test.local, 10.0.0.0/16) and
                ap-southeast-1 (server-b.test.local, 10.1.0.0/16), one peering.
    client-vpc  reference plus a client VPC 10.2.0.0/16 in ap-northeast-1,
                attached to that region's transit gateway.
    client-region
                reference plus a third region, us-east-1, with no server: its
                own transit gateway, peered to both server gateways, and a
                client VPC 10.2.0.0/16 attached to it.
    mesh        N regions (server-1.test.local ...), a peering between every pair.
    chain       N regions, peerings only between neighbours i and i+1; each TGW
                routes only its neighbours' VPCs.

Files written to DIR:
    tgw.conf    tgw-vip's YAML config (servers with vpc and eni, gateways).
    ids.json    every id by role, with this schema:
        {
          "vip": "172.16.0.1", "vip_cidr": "172.16.0.1/32",
          "layout": str, "endpoint": str,
          "regions": {region: {"server": name, "vpc": id, "tgw": id, "tgw_route_table": id}},
          "config_has_eni": bool (false with --no-eni, which leaves eni out of
                             tgw.conf only; the ENI is still created),
          "servers": {name: {"region", "vpc", "vpc_cidr", "eni", "subnets": {"public",
                             "private", "extra": [...]}, "route_tables": [ids],
                             "tgw", "attachment"}},
          "gateways": {tgw_id: {"region", "route_table", "attachments": {attachment: vpc},
                                "peerings": {peer_tgw: attachment}}},
          "client_vpcs": {name: {"region", "vpc", "vpc_cidr", "subnet", "route_tables": [ids],
                                 "tgw", "attachment"}},
          "peerings": [{"id", "requester": {"region", "tgw"}, "accepter": {"region", "tgw"}}]
        }

Every call carries X-Emulator-Bypass: 1, so building does not change the
emulator's counters and is not hit by injected faults.
"""

import argparse
import json
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from clients import EndpointError, ec2_clients  # noqa: E402

VIP = "172.16.0.1"
VIP_CIDR = f"{VIP}/32"
ACCOUNT_ID = "123456789012"

# Regions in the order that mesh and chain layouts take them.
REGION_ORDER = [
    "ap-northeast-1",
    "ap-southeast-1",
    "us-east-1",
    "eu-west-1",
    "us-west-2",
    "ap-south-1",
    "eu-central-1",
    "us-east-2",
    "ap-northeast-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-2",
]
LAYOUTS = ("reference", "client-vpc", "client-region", "mesh", "chain")
# Region of the client-region layout's gateway without a server.
CLIENT_REGION = "us-east-1"
REFERENCE_SERVERS = ("server-a.test.local", "server-b.test.local")
CLIENT_VPC_CIDR = "10.2.0.0/16"
# Extra route tables get subnets 10.N.128.0/24 and up, so K is capped where
# the third octet would pass 255.
MAX_TABLES_PER_VPC = 100
BUILD_THREADS = 8


@dataclass
class ServerSite:
    """One server region: the VPC, its route tables and the transit gateway."""

    name: str
    region: str
    index: int
    vpc: str = ""
    subnets: dict[str, Any] = field(default_factory=dict)
    eni: str = ""
    route_tables: list[str] = field(default_factory=list)
    tgw: str = ""
    tgw_route_table: str = ""
    attachment: str = ""
    peerings: dict[str, str] = field(default_factory=dict)

    @property
    def vpc_cidr(self) -> str:
        return f"10.{self.index}.0.0/16"


@dataclass
class ClientSite:
    name: str
    region: str
    vpc_cidr: str
    vpc: str = ""
    subnet: str = ""
    route_tables: list[str] = field(default_factory=list)
    tgw: str = ""
    attachment: str = ""


class TopologyError(RuntimeError):
    """The requested topology cannot be built."""


def _run_all(pool: ThreadPoolExecutor, jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run jobs on the pool and re-raise the first failure."""
    futures = [pool.submit(job) for job in jobs]
    return [future.result() for future in futures]


class TopologyBuilder:
    """Create one layout in the emulator through boto3."""

    def __init__(
        self,
        endpoint: str,
        layout: str = "reference",
        regions: int | None = None,
        tables_per_vpc: int = 2,
        with_eni: bool = True,
    ):
        if layout not in LAYOUTS:
            raise TopologyError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
        if not 1 <= tables_per_vpc <= MAX_TABLES_PER_VPC:
            raise TopologyError(
                f"--tables-per-vpc must be between 1 and {MAX_TABLES_PER_VPC}, got {tables_per_vpc}"
            )
        if layout in ("reference", "client-vpc", "client-region"):
            if regions not in (None, 2):
                raise TopologyError(f"the {layout} layout always has 2 regions, got --regions {regions}")
            names = list(REFERENCE_SERVERS)
        else:
            count = 3 if regions is None else regions
            if not 2 <= count <= len(REGION_ORDER):
                raise TopologyError(f"--regions must be between 2 and {len(REGION_ORDER)}, got {count}")
            names = [f"server-{i + 1}.test.local" for i in range(count)]
        self.endpoint = endpoint
        self.layout = layout
        self.tables_per_vpc = tables_per_vpc
        self.with_eni = with_eni
        self.sites = [ServerSite(name, REGION_ORDER[i], i) for i, name in enumerate(names)]
        self.clients = ec2_clients(endpoint, [site.region for site in self.sites] + [CLIENT_REGION])
        self.peerings: list[dict[str, Any]] = []
        self.client_sites: list[ClientSite] = []

    # -- layout ----------------------------------------------------------

    def _peered_pairs(self) -> list[tuple[ServerSite, ServerSite]]:
        sites = self.sites
        if self.layout == "chain":
            return [(sites[i], sites[i + 1]) for i in range(len(sites) - 1)]
        return [(a, b) for i, a in enumerate(sites) for b in sites[i + 1 :]]

    def _reachable_peers(self, site: ServerSite) -> list[ServerSite]:
        """Server sites that this site's transit gateway routes to over a peering."""
        peers = []
        for a, b in self._peered_pairs():
            if a is site:
                peers.append(b)
            elif b is site:
                peers.append(a)
        return peers

    def _remote_cidrs(self, site: ServerSite) -> list[str]:
        """CIDRs that the site's VPC route tables send to its transit gateway."""
        peers = self._reachable_peers(site)
        cidrs = [peer.vpc_cidr for peer in peers]
        reachable_regions = {site.region} | {peer.region for peer in peers}
        cidrs += [client.vpc_cidr for client in self.client_sites if client.region in reachable_regions]
        return cidrs

    # -- building --------------------------------------------------------

    def build(self) -> dict[str, Any]:
        if self.layout == "client-vpc":
            self.client_sites.append(ClientSite("client-1", self.sites[0].region, CLIENT_VPC_CIDR))
        if self.layout == "client-region":
            # The client hub is a site without a server: it gets a VPC, a
            # gateway and peerings like a server site, but no ENI in ids.
            self.hub = ServerSite("client-1", CLIENT_REGION, 2)
            self.client_sites.append(ClientSite("client-1", CLIENT_REGION, CLIENT_VPC_CIDR))
        with ThreadPoolExecutor(max_workers=BUILD_THREADS) as pool:
            _run_all(pool, [lambda site=site: self._build_region(site) for site in self.sites])
            _run_all(pool, [lambda pair=pair: self._peer(*pair) for pair in self._peered_pairs()])
            _run_all(pool, [lambda site=site: self._route_to_peers(site) for site in self.sites])
            if self.layout == "client-region":
                self._build_client_region()
            else:
                _run_all(pool, [lambda client=client: self._build_client_vpc(client) for client in self.client_sites])
            _run_all(
                pool,
                [
                    lambda site=site, n=n: self._build_vpc_route_table(site, n)
                    for site in self.sites
                    for n in range(self.tables_per_vpc)
                ],
            )
        return self.ids()

    def _build_region(self, site: ServerSite) -> None:
        ec2 = self.clients[site.region]
        i = site.index
        zone = f"{site.region}a"
        site.vpc = ec2.create_vpc(CidrBlock=site.vpc_cidr)["Vpc"]["VpcId"]
        site.subnets = {
            "public": self._subnet(ec2, site.vpc, f"10.{i}.10.0/24", zone),
            "private": self._subnet(ec2, site.vpc, f"10.{i}.110.0/24", zone),
            "extra": [
                self._subnet(ec2, site.vpc, f"10.{i}.{128 + n}.0/24", zone)
                for n in range(max(0, self.tables_per_vpc - 2))
            ],
        }

        site.tgw = ec2.create_transit_gateway(
            Description=f"tgw-vip test gateway for {site.name}",
            Options={"DefaultRouteTableAssociation": "disable", "DefaultRouteTablePropagation": "disable"},
        )["TransitGateway"]["TransitGatewayId"]
        site.tgw_route_table = ec2.create_transit_gateway_route_table(TransitGatewayId=site.tgw)[
            "TransitGatewayRouteTable"
        ]["TransitGatewayRouteTableId"]
        site.attachment = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=site.tgw, VpcId=site.vpc, SubnetIds=[site.subnets["private"]]
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        ec2.associate_transit_gateway_route_table(
            TransitGatewayRouteTableId=site.tgw_route_table, TransitGatewayAttachmentId=site.attachment
        )
        for cidr in (site.vpc_cidr, VIP_CIDR):
            ec2.create_transit_gateway_route(
                TransitGatewayRouteTableId=site.tgw_route_table,
                DestinationCidrBlock=cidr,
                TransitGatewayAttachmentId=site.attachment,
            )

        site.eni = ec2.create_network_interface(
            SubnetId=site.subnets["private"], Description=f"{site.name} VIP interface"
        )["NetworkInterface"]["NetworkInterfaceId"]
        ec2.modify_network_interface_attribute(NetworkInterfaceId=site.eni, SourceDestCheck={"Value": False})

    @staticmethod
    def _subnet(ec2: Any, vpc: str, cidr: str, zone: str) -> str:
        return ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]

    def _peer(self, requester: ServerSite, accepter: ServerSite) -> None:
        """Peer two transit gateways: requested from the first site, accepted in the second."""
        attachment = self.clients[requester.region].create_transit_gateway_peering_attachment(
            TransitGatewayId=requester.tgw,
            PeerTransitGatewayId=accepter.tgw,
            PeerAccountId=ACCOUNT_ID,
            PeerRegion=accepter.region,
        )["TransitGatewayPeeringAttachment"]["TransitGatewayAttachmentId"]
        self.clients[accepter.region].accept_transit_gateway_peering_attachment(
            TransitGatewayAttachmentId=attachment
        )
        requester.peerings[accepter.tgw] = attachment
        accepter.peerings[requester.tgw] = attachment
        self.peerings.append(
            {
                "id": attachment,
                "requester": {"region": requester.region, "tgw": requester.tgw},
                "accepter": {"region": accepter.region, "tgw": accepter.tgw},
            }
        )

    def _route_to_peers(self, site: ServerSite) -> None:
        ec2 = self.clients[site.region]
        for peer in self._reachable_peers(site):
            attachment = site.peerings[peer.tgw]
            ec2.associate_transit_gateway_route_table(
                TransitGatewayRouteTableId=site.tgw_route_table, TransitGatewayAttachmentId=attachment
            )
            ec2.create_transit_gateway_route(
                TransitGatewayRouteTableId=site.tgw_route_table,
                DestinationCidrBlock=peer.vpc_cidr,
                TransitGatewayAttachmentId=attachment,
            )

    def _build_vpc_route_table(self, site: ServerSite, n: int) -> None:
        """Create the site's route table number n, associated with its own subnet."""
        ec2 = self.clients[site.region]
        if n == 0:
            subnet = site.subnets["private"]
        elif n == 1:
            subnet = site.subnets["public"]
        else:
            subnet = site.subnets["extra"][n - 2]
        table = self._route_table(ec2, site.vpc, subnet, site.tgw, self._remote_cidrs(site))
        site.route_tables.append(table)

    @staticmethod
    def _route_table(ec2: Any, vpc: str, subnet: str, tgw: str, cidrs: list[str]) -> str:
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
        for cidr in [VIP_CIDR, *cidrs]:
            ec2.create_route(RouteTableId=table, DestinationCidrBlock=cidr, TransitGatewayId=tgw)
        return table

    def _build_client_vpc(self, client: ClientSite) -> None:
        """Attach a client VPC to the first site's gateway and route it both ways."""
        site = next(s for s in self.sites if s.region == client.region)
        ec2 = self.clients[client.region]
        client.tgw = site.tgw
        client.vpc = ec2.create_vpc(CidrBlock=client.vpc_cidr)["Vpc"]["VpcId"]
        network_prefix = client.vpc_cidr.rsplit(".", 2)[0]
        client.subnet = self._subnet(ec2, client.vpc, f"{network_prefix}.10.0/24", f"{client.region}a")
        client.attachment = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=site.tgw, VpcId=client.vpc, SubnetIds=[client.subnet]
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        ec2.associate_transit_gateway_route_table(
            TransitGatewayRouteTableId=site.tgw_route_table, TransitGatewayAttachmentId=client.attachment
        )
        ec2.create_transit_gateway_route(
            TransitGatewayRouteTableId=site.tgw_route_table,
            DestinationCidrBlock=client.vpc_cidr,
            TransitGatewayAttachmentId=client.attachment,
        )
        server_cidrs = [s.vpc_cidr for s in self.sites]
        client.route_tables.append(self._route_table(ec2, client.vpc, client.subnet, site.tgw, server_cidrs))
        for peer in self._reachable_peers(site):
            self.clients[peer.region].create_transit_gateway_route(
                TransitGatewayRouteTableId=peer.tgw_route_table,
                DestinationCidrBlock=client.vpc_cidr,
                TransitGatewayAttachmentId=peer.peerings[site.tgw],
            )

    def _build_client_region(self) -> None:
        """Build the hub gateway without a server, peer it with every server
        gateway, and attach the client VPC to it."""
        hub = self.hub
        client = self.client_sites[0]
        ec2 = self.clients[hub.region]
        hub.tgw = ec2.create_transit_gateway(
            Description="tgw-vip test gateway for the client region",
            Options={"DefaultRouteTableAssociation": "disable", "DefaultRouteTablePropagation": "disable"},
        )["TransitGateway"]["TransitGatewayId"]
        hub.tgw_route_table = ec2.create_transit_gateway_route_table(TransitGatewayId=hub.tgw)[
            "TransitGatewayRouteTable"
        ]["TransitGatewayRouteTableId"]
        client.tgw = hub.tgw
        client.vpc = ec2.create_vpc(CidrBlock=client.vpc_cidr)["Vpc"]["VpcId"]
        client.subnet = self._subnet(ec2, client.vpc, "10.2.10.0/24", f"{hub.region}a")
        client.attachment = ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=hub.tgw, VpcId=client.vpc, SubnetIds=[client.subnet]
        )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
        hub.attachment = client.attachment
        ec2.associate_transit_gateway_route_table(
            TransitGatewayRouteTableId=hub.tgw_route_table, TransitGatewayAttachmentId=client.attachment
        )
        for site in self.sites:
            self._peer(site, hub)
            attachment = hub.peerings[site.tgw]
            ec2.associate_transit_gateway_route_table(
                TransitGatewayRouteTableId=hub.tgw_route_table, TransitGatewayAttachmentId=attachment
            )
            for cidr in (site.vpc_cidr,) + ((VIP_CIDR,) if site is self.sites[0] else ()):
                ec2.create_transit_gateway_route(
                    TransitGatewayRouteTableId=hub.tgw_route_table,
                    DestinationCidrBlock=cidr,
                    TransitGatewayAttachmentId=attachment,
                )
            self.clients[site.region].create_transit_gateway_route(
                TransitGatewayRouteTableId=site.tgw_route_table,
                DestinationCidrBlock=client.vpc_cidr,
                TransitGatewayAttachmentId=attachment,
            )
        server_cidrs = [s.vpc_cidr for s in self.sites]
        client.route_tables.append(self._route_table(ec2, client.vpc, client.subnet, hub.tgw, server_cidrs))

    # -- output ----------------------------------------------------------

    def ids(self) -> dict[str, Any]:
        gateways = {}
        for site in self.sites:
            attachments = {site.attachment: site.vpc}
            for client in self.client_sites:
                if client.tgw == site.tgw:
                    attachments[client.attachment] = client.vpc
            gateways[site.tgw] = {
                "region": site.region,
                "route_table": site.tgw_route_table,
                "attachments": attachments,
                "peerings": dict(site.peerings),
            }
        hub = getattr(self, "hub", None)
        if hub is not None:
            gateways[hub.tgw] = {
                "region": hub.region,
                "route_table": hub.tgw_route_table,
                "attachments": {hub.attachment: self.client_sites[0].vpc},
                "peerings": dict(hub.peerings),
            }
        return {
            "vip": VIP,
            "vip_cidr": VIP_CIDR,
            "layout": self.layout,
            "endpoint": self.endpoint,
            "config_has_eni": self.with_eni,
            "regions": {
                site.region: {
                    "server": site.name,
                    "vpc": site.vpc,
                    "tgw": site.tgw,
                    "tgw_route_table": site.tgw_route_table,
                }
                for site in self.sites
            },
            "servers": {
                site.name: {
                    "region": site.region,
                    "vpc": site.vpc,
                    "vpc_cidr": site.vpc_cidr,
                    "eni": site.eni,
                    "subnets": site.subnets,
                    "route_tables": sorted(site.route_tables),
                    "tgw": site.tgw,
                    "attachment": site.attachment,
                }
                for site in self.sites
            },
            "gateways": gateways,
            "client_vpcs": {
                client.name: {
                    "region": client.region,
                    "vpc": client.vpc,
                    "vpc_cidr": client.vpc_cidr,
                    "subnet": client.subnet,
                    "route_tables": client.route_tables,
                    "tgw": client.tgw,
                    "attachment": client.attachment,
                }
                for client in self.client_sites
            },
            "peerings": self.peerings,
        }


def _flow_map(mapping: dict[str, str]) -> str:
    return "{" + ", ".join(f"{key}: {value}" for key, value in mapping.items()) + "}"


def render_config(ids: dict[str, Any]) -> str:
    """Render tgw-vip's YAML config for a built topology."""
    lines = ["servers:"]
    for name, server in ids["servers"].items():
        entry = {"vpc": server["vpc"]}
        if ids["config_has_eni"]:
            entry["eni"] = server["eni"]
        lines.append(f"  {name}: {_flow_map(entry)}")
    lines.append("gateways:")
    for tgw, gateway in ids["gateways"].items():
        lines += [
            f"  {tgw}:",
            "    type: tgw",
            f"    region: {gateway['region']}",
            f"    routeTable: {gateway['route_table']}",
            f"    attaches: {_flow_map(gateway['attachments'])}",
            f"    peerings: {_flow_map(gateway['peerings'])}",
        ]
    return "\n".join(lines) + "\n"


def build_topology(
    endpoint: str,
    out_dir: str | Path | None = None,
    layout: str = "reference",
    regions: int | None = None,
    tables_per_vpc: int = 2,
    with_eni: bool = True,
) -> dict[str, Any]:
    """Build a layout in the emulator; write tgw.conf and ids.json to out_dir if given."""
    ids = TopologyBuilder(endpoint, layout, regions, tables_per_vpc, with_eni).build()
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "tgw.conf").write_text(render_config(ids))
        (out / "ids.json").write_text(json.dumps(ids, indent=2, sort_keys=True) + "\n")
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a tgw-vip deployment in the EC2 emulator.")
    parser.add_argument("--endpoint", required=True, help="emulator URL, http://127.0.0.1:PORT")
    parser.add_argument("--out", required=True, help="directory for tgw.conf and ids.json (created if missing)")
    parser.add_argument("--layout", choices=LAYOUTS, default="reference", help="deployment shape (default reference)")
    parser.add_argument("--regions", type=int, help="number of server regions for mesh and chain (default 3)")
    parser.add_argument(
        "--tables-per-vpc", type=int, default=2, help="VPC route tables with the VIP route per server VPC (default 2)"
    )
    parser.add_argument("--no-eni", action="store_true", help="leave eni out of tgw.conf (ids.json keeps it)")
    arguments = parser.parse_args(argv)
    try:
        ids = build_topology(
            arguments.endpoint,
            arguments.out,
            arguments.layout,
            arguments.regions,
            arguments.tables_per_vpc,
            not arguments.no_eni,
        )
    except (TopologyError, EndpointError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    tables = sum(len(server["route_tables"]) for server in ids["servers"].values())
    print(
        f"built {arguments.layout} layout: {len(ids['servers'])} servers, {tables} VPC route tables, "
        f"{len(ids['peerings'])} peerings; wrote {arguments.out}/tgw.conf and ids.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
