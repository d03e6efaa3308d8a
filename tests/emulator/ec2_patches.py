"""Complete moto 5.2.1's EC2 emulation where tgw-vip depends on AWS behaviour.

`apply()` monkeypatches moto's classes in memory at startup and never edits
site-packages. Measured on moto 5.2.1 before these patches:

* ReplaceTransitGatewayRoute is not implemented (HTTP 500).
* SearchTransitGatewayRoutes never lists a route's attachments.
* CreateTransitGatewayRoute overwrites an existing static route instead of
  returning the error RouteAlreadyExists.
* No TGW or VPC route ever becomes blackhole.
* DescribeRouteTables filters route.state and route.network-interface-id
  return HTTP 500, and several filter values are combined with AND.
* CreateRoute with NetworkInterfaceId overwrites an existing route.
* A TGW peering attachment is the same object in both regions, so the
  accepter region sees the requester's TransitGatewayId and ResourceId.
* DescribeTransitGatewayVpcAttachments and DescribeTransitGatewayPeering-
  Attachments list attachments of every type.

DryRun, deny rules and injected faults live in the WSGI middleware, not here.
"""

import fnmatch
import inspect
import ipaddress
import logging
from collections.abc import Callable, Iterable
from typing import Any

import moto
import moto.core.responses as moto_responses
from moto.core.responses import ActionResult, BaseResponse
from moto.ec2.exceptions import (
    EC2ClientError,
    FilterNotImplementedError,
    InvalidDestinationCIDRBlockParameterError,
    RouteAlreadyExistsError,
)
from moto.ec2.models import EC2Backend, ec2_backends
from moto.ec2.models.route_tables import Route, RouteTable
from moto.ec2.models.transit_gateway_attachments import (
    TransitGatewayAttachment,
    TransitGatewayPeeringAttachment,
)
from moto.ec2.models.transit_gateway_route_tables import TransitGatewayRelations
from moto.ec2.responses import EC2Response
from moto.ec2.utils import describe_tag_filter, generate_route_id, generic_filter
from moto.utilities.utils import str2bool

from aws_request import credential_scope

log = logging.getLogger("tgw_vip_emulator")

TESTED_MOTO_VERSION = "5.2.1"

# Attachment states in which a route target no longer carries traffic.
GONE_ATTACHMENT_STATES = frozenset(
    {"deleting", "deleted", "failing", "failed", "rejecting", "rejected"}
)

# AWS caps SearchTransitGatewayRoutes at 1000 routes per call.
SEARCH_MAX_RESULTS = 1000

_applied = False


def apply() -> None:
    """Install every completion once per process."""
    global _applied
    if _applied:
        return
    if moto.__version__ != TESTED_MOTO_VERSION:
        log.warning(
            "moto %s is installed but these patches were written against moto %s; "
            "install tests/emulator/requirements.txt",
            moto.__version__,
            TESTED_MOTO_VERSION,
        )
    _patch_request_region()
    _cache_action_names()
    _patch_tgw_routes()
    _patch_tgw_attachments()
    _patch_vpc_routes()
    _applied = True


# ---------------------------------------------------------------------------
# Shared helpers


def _as_strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, Iterable):
        return [str(item) for item in value if item is not None]
    return [str(value)]


def _matches_any(values: Any, patterns: Iterable[str]) -> bool:
    """Apply EC2 filter semantics to one filter.

    A resource matches when any of its values matches any filter value, and
    "*" and "?" in a filter value are wildcards.
    """
    patterns = list(patterns)
    return any(
        fnmatch.fnmatchcase(value, pattern)
        for value in _as_strings(values)
        for pattern in patterns
    )


def _bound_arguments(function: Callable[..., Any], args: tuple, kwargs: dict) -> dict:
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _account_backends(account_id: str) -> list[Any]:
    """Return every live EC2 backend (one per region) of an account."""
    return [
        backend
        # moto files the references under the concrete backend class.
        for backend in EC2Backend._get_peering_attachment_backend_refs()
        if backend.account_id == account_id
    ]


def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


# ---------------------------------------------------------------------------
# Region of a request


def _patch_request_region() -> None:
    """Take the region from the SigV4 credential scope before anything else.

    moto first looks for a region in the host name and the User-Agent, which
    an SDK talking to 127.0.0.1 may fill with something else than the signing
    region. The emulator's counters and faults use the credential scope, so
    moto must use it too.
    """
    original = BaseResponse.get_region_from_url

    def get_region_from_url(self: Any, request: Any, full_url: str) -> str:
        scope = credential_scope(request.headers.get("Authorization"))
        if scope is not None:
            return scope[0]
        return original(self, request, full_url)

    EC2Response.get_region_from_url = get_region_from_url


def _cache_action_names() -> None:
    """Cache the list of action methods per response class.

    moto lists them with inspect.getmembers() on every request, which costs
    about a quarter of a short EC2 call. The classes do not change after
    apply() has patched them.
    """
    original = moto_responses.method_names_from_class
    cache: dict[type, list[str]] = {}

    def method_names_from_class(clazz: Any) -> list[str]:
        names = cache.get(clazz)
        if names is None:
            names = cache[clazz] = original(clazz)
        return names

    moto_responses.method_names_from_class = method_names_from_class


# ---------------------------------------------------------------------------
# Transit Gateway route tables


def _tgw_route_table(backend: Any, table_id: str | None) -> Any:
    table = backend.transit_gateways_route_tables.get(table_id)
    if table is None or table.state == "deleted":
        raise EC2ClientError(
            "InvalidRouteTableID.NotFound",
            f"The transitGatewayRouteTable ID '{table_id}' does not exist",
        )
    return table


def _tgw_attachment(backend: Any, attachment_id: str | None) -> Any:
    attachment = backend.transit_gateway_attachments.get(attachment_id)
    if attachment is None or attachment.state in GONE_ATTACHMENT_STATES:
        raise EC2ClientError(
            "InvalidTransitGatewayAttachmentID.NotFound",
            f"Transit Gateway Attachment {attachment_id} was deleted or does not exist.",
        )
    return attachment


def _route_target(
    backend: Any, table: Any, attachment_id: str | None, blackhole: bool
) -> Any:
    """Validate the target of a static TGW route and return its attachment.

    Returns None for a blackhole route.
    """
    if blackhole and attachment_id:
        raise EC2ClientError(
            "InvalidParameterCombination",
            "Specify either TransitGatewayAttachmentId or Blackhole, not both.",
        )
    if blackhole:
        return None
    if not attachment_id:
        # NOTE: AWS documents that one of the two is required but not the
        # error code it returns. MissingParameter is the usual EC2 code.
        raise EC2ClientError(
            "MissingParameter",
            "The request must contain the parameter TransitGatewayAttachmentId or Blackhole.",
        )
    attachment = _tgw_attachment(backend, attachment_id)
    if attachment.transit_gateway_id != table.transit_gateway_id:
        raise EC2ClientError(
            "InvalidTransitGatewayAttachmentID.NotFound",
            f"Transit Gateway Attachment {attachment_id} is not attached to "
            f"Transit Gateway {table.transit_gateway_id}.",
        )
    if attachment.state != "available":
        raise EC2ClientError(
            "IncorrectState",
            f"Transit Gateway Attachment {attachment_id} is in state "
            f"'{attachment.state}', not 'available'.",
        )
    return attachment


def _check_destination(cidr: str | None) -> str:
    if not cidr or _network(cidr) is None:
        raise InvalidDestinationCIDRBlockParameterError(cidr)
    return cidr


def _attachment_item(attachment: Any) -> dict[str, str]:
    return {
        "resourceId": attachment.resource_id,
        "resourceType": attachment.resource_type,
        "transitGatewayAttachmentId": attachment.id,
    }


def _static_route(cidr: str, attachment: Any) -> dict[str, Any]:
    """Build a static route record.

    The record is serialized as a TransitGatewayRoute, and keys that start
    with "_" stay internal.
    """
    route: dict[str, Any] = {
        "destinationCidrBlock": cidr,
        "prefixListId": None,
        "type": "static",
        "state": "blackhole" if attachment is None else "active",
        "_attachment_id": None,
    }
    if attachment is not None:
        route["transitGatewayAttachments"] = [_attachment_item(attachment)]
        route["_attachment_id"] = attachment.id
    return route


def _propagated_routes(backend: Any, table: Any) -> dict[str, dict[str, Any]]:
    """Compute the routes that enabled VPC propagations add to a TGW table."""
    routes: dict[str, dict[str, Any]] = {}
    for propagation in table.route_table_propagation:
        attachment = backend.transit_gateway_attachments.get(
            propagation.transitGatewayAttachmentId
        )
        if attachment is None or attachment.state != "available":
            continue
        if attachment.resource_type != "vpc":
            continue
        vpc = backend.vpcs.get(attachment.resource_id)
        if vpc is None:
            continue
        for association in vpc.get_cidr_block_association_set(ipv6=False):
            cidr = association["cidr_block"]
            route = routes.setdefault(
                cidr,
                {
                    "destinationCidrBlock": cidr,
                    "prefixListId": None,
                    "type": "propagated",
                    "state": "active",
                    "transitGatewayAttachments": [],
                },
            )
            route["transitGatewayAttachments"].append(_attachment_item(attachment))
    return routes


def _route_attachment_values(key: str) -> Callable[[dict], list[str]]:
    return lambda route: [
        item[key] for item in route.get("transitGatewayAttachments", [])
    ]


def _cidr_relation(
    relation: Callable[[Any, Any], bool],
) -> Callable[[list[dict], list[str]], list[dict]]:
    def select(routes: list[dict], values: list[str]) -> list[dict]:
        networks = [net for net in (_network(value) for value in values) if net]
        selected = []
        for route in routes:
            route_net = _network(route["destinationCidrBlock"])
            if route_net is None:
                continue
            if any(
                route_net.version == net.version and relation(route_net, net)
                for net in networks
            ):
                selected.append(route)
        return selected

    return select


def _longest_prefix_match(routes: list[dict], values: list[str]) -> list[dict]:
    selected: list[dict] = []
    for value in values:
        address = _network(value)
        if address is None:
            continue
        containing = [
            route
            for route in routes
            if (net := _network(route["destinationCidrBlock"])) is not None
            and net.version == address.version
            and address.subnet_of(net)
        ]
        if not containing:
            continue
        longest = max(
            _network(route["destinationCidrBlock"]).prefixlen for route in containing
        )
        for route in containing:
            if _network(route["destinationCidrBlock"]).prefixlen == longest:
                if route not in selected:
                    selected.append(route)
    return selected


def _value_filter(
    values_of: Callable[[dict], Any],
) -> Callable[[list[dict], list[str]], list[dict]]:
    return lambda routes, patterns: [
        route for route in routes if _matches_any(values_of(route), patterns)
    ]


# Filters of SearchTransitGatewayRoutes, as the EC2 API reference lists them.
TGW_ROUTE_FILTERS: dict[str, Callable[[list[dict], list[str]], list[dict]]] = {
    "route-search.exact-match": _cidr_relation(lambda route, net: route == net),
    "route-search.longest-prefix-match": _longest_prefix_match,
    "route-search.subnet-of-match": _cidr_relation(lambda route, net: route.subnet_of(net)),
    "route-search.supernet-of-match": _cidr_relation(
        lambda route, net: route.supernet_of(net)
    ),
    "type": _value_filter(lambda route: route["type"]),
    "state": _value_filter(lambda route: route["state"]),
    "prefix-list-id": _value_filter(lambda route: route.get("prefixListId")),
    "attachment.transit-gateway-attachment-id": _value_filter(
        _route_attachment_values("transitGatewayAttachmentId")
    ),
    "attachment.resource-id": _value_filter(_route_attachment_values("resourceId")),
    "attachment.resource-type": _value_filter(_route_attachment_values("resourceType")),
}


def _blackhole_routes_to(account_id: str, attachment_id: str) -> None:
    """Turn every static TGW route that targets a deleted attachment into blackhole.

    A peering attachment is seen from two regions, so every region's tables
    are searched.
    """
    for backend in _account_backends(account_id):
        for table in backend.transit_gateways_route_tables.values():
            for route in table.routes.values():
                if route.get("_attachment_id") == attachment_id:
                    route["state"] = "blackhole"
                    route["_attachment_id"] = None
                    route.pop("transitGatewayAttachments", None)


def _patch_tgw_routes() -> None:
    def create_transit_gateway_route(
        self: Any,
        transit_gateway_route_table_id: str,
        destination_cidr_block: str,
        transit_gateway_attachment_id: str | None = None,
        blackhole: bool = False,
    ) -> dict[str, Any]:
        table = _tgw_route_table(self, transit_gateway_route_table_id)
        _check_destination(destination_cidr_block)
        attachment = _route_target(self, table, transit_gateway_attachment_id, blackhole)
        if destination_cidr_block in table.routes:
            # A propagated route for the same CIDR does not count: AWS lets a
            # static route override it.
            raise EC2ClientError(
                "RouteAlreadyExists",
                f"Route {destination_cidr_block} already exists in Transit Gateway "
                f"Route Table {table.id}.",
            )
        route = _static_route(destination_cidr_block, attachment)
        table.routes[destination_cidr_block] = route
        return route

    def replace_transit_gateway_route(
        self: Any,
        transit_gateway_route_table_id: str,
        destination_cidr_block: str,
        transit_gateway_attachment_id: str | None = None,
        blackhole: bool = False,
    ) -> dict[str, Any]:
        table = _tgw_route_table(self, transit_gateway_route_table_id)
        _check_destination(destination_cidr_block)
        if destination_cidr_block not in table.routes:
            # NOTE: a CIDR that only has a propagated route is treated as
            # missing too, because only static routes can be replaced.
            raise EC2ClientError(
                "InvalidRoute.NotFound",
                f"No route with destination-cidr-block {destination_cidr_block} in "
                f"Transit Gateway Route Table {table.id}.",
            )
        attachment = _route_target(self, table, transit_gateway_attachment_id, blackhole)
        route = _static_route(destination_cidr_block, attachment)
        table.routes[destination_cidr_block] = route
        return route

    def delete_transit_gateway_route(
        self: Any, transit_gateway_route_table_id: str, destination_cidr_block: str
    ) -> dict[str, Any]:
        table = _tgw_route_table(self, transit_gateway_route_table_id)
        route = table.routes.pop(destination_cidr_block, None)
        if route is None:
            raise EC2ClientError(
                "InvalidRoute.NotFound",
                f"No route with destination-cidr-block {destination_cidr_block} in "
                f"Transit Gateway Route Table {table.id}.",
            )
        deleted = dict(route)
        deleted["state"] = "deleted"
        return deleted

    def search_transit_gateway_routes(
        self: Any,
        transit_gateway_route_table_id: str,
        filters: dict[str, list[str]] | None,
        max_results: int | None = None,
    ) -> list[dict[str, Any]]:
        """Return every matching route; the response applies MaxResults."""
        table = _tgw_route_table(self, transit_gateway_route_table_id)
        routes = list(table.routes.values())
        # A static route hides a propagated route for the same CIDR.
        routes += [
            route
            for cidr, route in _propagated_routes(self, table).items()
            if cidr not in table.routes
        ]
        for name, values in (filters or {}).items():
            select = TGW_ROUTE_FILTERS.get(name)
            if select is None:
                raise EC2ClientError("InvalidParameterValue", f"The filter '{name}' is invalid")
            routes = select(routes, list(values))
        return routes

    EC2Backend.create_transit_gateway_route = create_transit_gateway_route
    EC2Backend.replace_transit_gateway_route = replace_transit_gateway_route
    EC2Backend.delete_transit_gateway_route = delete_transit_gateway_route
    EC2Backend.search_transit_gateway_routes = search_transit_gateway_routes

    def replace_transit_gateway_route_action(self: Any) -> ActionResult:
        route = self.ec2_backend.replace_transit_gateway_route(
            transit_gateway_route_table_id=self._get_param("TransitGatewayRouteTableId"),
            destination_cidr_block=self._get_param("DestinationCidrBlock"),
            transit_gateway_attachment_id=self._get_param("TransitGatewayAttachmentId"),
            blackhole=bool(str2bool(self._get_param("Blackhole"))),
        )
        return ActionResult({"route": route})

    def search_transit_gateway_routes_action(self: Any) -> ActionResult:
        routes = self.ec2_backend.search_transit_gateway_routes(
            transit_gateway_route_table_id=self._get_param("TransitGatewayRouteTableId"),
            filters=self._filters_from_querystring(),
        )
        max_results = int(self._get_param("MaxResults") or SEARCH_MAX_RESULTS)
        return ActionResult(
            {
                "routeSet": routes[:max_results],
                "additionalRoutesAvailable": len(routes) > max_results,
            }
        )

    EC2Response.replace_transit_gateway_route = replace_transit_gateway_route_action
    EC2Response.search_transit_gateway_routes = search_transit_gateway_routes_action


# ---------------------------------------------------------------------------
# Transit Gateway attachments


class PeeringAttachmentAccepterView(TransitGatewayPeeringAttachment):
    """The accepter region's view of a TGW peering attachment.

    AWS shows one peering attachment id in both regions. Each side reports
    its own transit gateway as TransitGatewayId and the other side's as
    ResourceId, and keeps its own route table association. State, status and
    tags are shared with the requester's object.
    """

    # moto's model metaclass files each model class under the second part
    # of its module name, so the name needs a dot.
    __module__ = "tgw_vip_emulator.ec2_patches"

    _LOCAL_ATTRIBUTES = frozenset(
        {
            "_shared",
            "ec2_backend",
            "transit_gateway_id",
            "resource_id",
            "resource_owner_id",
            "owner_id",
            "transit_gateway_route_table",
            "_association_data",
            "propagation",
        }
    )

    def __init__(self, shared: TransitGatewayPeeringAttachment, backend: Any):
        # The base initializer is skipped on purpose: every attribute that is
        # not local is read from and written to the shared object.
        local = {
            "_shared": shared,
            "ec2_backend": backend,
            "transit_gateway_id": shared.accepter_tgw_info["TransitGatewayId"],
            "resource_id": shared.requester_tgw_info["TransitGatewayId"],
            "resource_owner_id": shared.requester_tgw_info["OwnerId"],
            "owner_id": shared.accepter_tgw_info["OwnerId"],
            "transit_gateway_route_table": None,
            "_association_data": {},
            "propagation": {},
        }
        for name, value in local.items():
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_shared"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._LOCAL_ATTRIBUTES:
            object.__setattr__(self, name, value)
        else:
            setattr(self._shared, name, value)

    @property
    def transit_gateway_owner_id(self) -> str:
        return self.owner_id


def _association(self: Any) -> dict[str, str] | None:
    table = self.transit_gateway_route_table
    if self.state == "available" and table is not None:
        return {"State": "associated", "TransitGatewayRouteTableId": table.id}
    return None


def _remove_from_route_tables(backend: Any, attachment_id: str) -> None:
    """Drop an attachment's associations and propagations in one region."""
    for table in backend.transit_gateways_route_tables.values():
        table.route_table_associations.pop(attachment_id, None)
        table.route_table_propagation = [
            propagation
            for propagation in table.route_table_propagation
            if propagation.transitGatewayAttachmentId != attachment_id
        ]
    backend.transit_gateway_associations.pop(attachment_id, None)
    backend.transit_gateway_propagations.pop(attachment_id, None)


# Filters of DescribeTransitGatewayAttachments, as the EC2 API reference lists them.
ATTACHMENT_FILTERS: dict[str, Callable[[Any], Any]] = {
    "association.state": lambda a: (a.association or {}).get("State"),
    "association.transit-gateway-route-table-id": lambda a: (a.association or {}).get(
        "TransitGatewayRouteTableId"
    ),
    "resource-id": lambda a: a.resource_id,
    "resource-owner-id": lambda a: a.resource_owner_id,
    "resource-type": lambda a: a.resource_type,
    "state": lambda a: a.state,
    "transit-gateway-attachment-id": lambda a: a.id,
    "transit-gateway-id": lambda a: a.transit_gateway_id,
    "transit-gateway-owner-id": lambda a: a.transit_gateway_owner_id,
}


def _filter_attachments(attachments: list[Any], filters: dict | None) -> list[Any]:
    for name, values in (filters or {}).items():
        if name.startswith("tag"):
            attachments = describe_tag_filter({name: values}, attachments)
            continue
        value_of = ATTACHMENT_FILTERS.get(name)
        if value_of is None:
            raise EC2ClientError("InvalidParameterValue", f"The filter '{name}' is invalid")
        attachments = [a for a in attachments if _matches_any(value_of(a), values)]
    return attachments


def _patch_tgw_attachments() -> None:
    TransitGatewayAttachment.association = property(_association)

    original_create_vpc_attachment = EC2Backend.create_transit_gateway_vpc_attachment

    def create_transit_gateway_vpc_attachment(self: Any, *args: Any, **kwargs: Any) -> Any:
        attachment = original_create_vpc_attachment(self, *args, **kwargs)
        transit_gateway = self.transit_gateways[attachment.transit_gateway_id]
        default_table = transit_gateway.default_route_table
        # moto associates every new attachment with the default table. AWS
        # does so only while DefaultRouteTableAssociation is enabled, and it
        # also propagates to it while DefaultRouteTablePropagation is enabled.
        default_table.route_table_associations.pop(attachment.id, None)
        attachment.transit_gateway_route_table = None
        attachment._association_data = {}
        options = transit_gateway.options
        if options.get("DefaultRouteTableAssociation") == "enable":
            self.associate_transit_gateway_route_table(attachment.id, default_table.id)
        if options.get("DefaultRouteTablePropagation") == "enable":
            self.enable_transit_gateway_route_table_propagation(
                attachment.id, default_table.id
            )
        return attachment

    original_create_peering = EC2Backend.create_transit_gateway_peering_attachment

    def create_transit_gateway_peering_attachment(
        self: Any,
        transit_gateway_id: str,
        peer_transit_gateway_id: str,
        peer_region: str,
        peer_account_id: str | None,
        tags: dict[str, str],
    ) -> Any:
        if transit_gateway_id not in self.transit_gateways:
            raise EC2ClientError(
                "InvalidTransitGatewayID.NotFound",
                f"Transit Gateway {transit_gateway_id} was deleted or does not exist.",
            )
        peer_account_id = peer_account_id or self.account_id
        peer_region = peer_region or self.region_name
        try:
            peer_backend = ec2_backends[peer_account_id][peer_region]
        except KeyError:
            raise EC2ClientError(
                "InvalidParameterValue", f"The peer region '{peer_region}' is invalid."
            ) from None
        attachment = original_create_peering(
            self, transit_gateway_id, peer_transit_gateway_id, peer_region, peer_account_id, tags
        )
        # NOTE: neither side is associated with a TGW route table by default;
        # tgw-vip's deployments associate peering attachments explicitly.
        attachment.transit_gateway_route_table = None
        if peer_backend is not self:
            peer_backend.transit_gateway_attachments[attachment.id] = (
                PeeringAttachmentAccepterView(attachment, peer_backend)
            )
        return attachment

    def associate_transit_gateway_route_table(
        self: Any, transit_gateway_attachment_id: str, transit_gateway_route_table_id: str
    ) -> Any:
        attachment = _tgw_attachment(self, transit_gateway_attachment_id)
        table = _tgw_route_table(self, transit_gateway_route_table_id)
        if table.transit_gateway_id != attachment.transit_gateway_id:
            raise EC2ClientError(
                "InvalidParameterValue",
                f"Transit Gateway Route Table {table.id} and Transit Gateway Attachment "
                f"{attachment.id} belong to different transit gateways.",
            )
        if attachment.transit_gateway_route_table is not None:
            raise EC2ClientError(
                "Resource.AlreadyAssociated",
                f"Transit Gateway Attachment {attachment.id} is already associated with "
                f"Transit Gateway Route Table {attachment.transit_gateway_route_table.id}.",
            )
        relation = TransitGatewayRelations(
            self, attachment.id, table.id, state="associated"
        )
        self.set_route_table_association(attachment.id, table.id)
        self.set_attachment_association(attachment.id, table.id)
        self.transit_gateway_associations[attachment.id] = relation
        attachment.transit_gateway_route_table = table
        return relation

    def disassociate_transit_gateway_route_table(
        self: Any, tgw_attach_id: str, tgw_rt_id: str
    ) -> Any:
        attachment = _tgw_attachment(self, tgw_attach_id)
        table = _tgw_route_table(self, tgw_rt_id)
        current = attachment.transit_gateway_route_table
        if current is None or current.id != table.id:
            raise EC2ClientError(
                "InvalidAssociation.NotFound",
                f"Transit Gateway Attachment {attachment.id} is not associated with "
                f"Transit Gateway Route Table {table.id}.",
            )
        table.route_table_associations.pop(attachment.id, None)
        attachment._association_data = {}
        attachment.transit_gateway_route_table = None
        relation = self.transit_gateway_associations.pop(attachment.id, None)
        if relation is None:
            relation = TransitGatewayRelations(self, attachment.id, table.id, "associated")
        relation.state = "disassociated"
        return relation

    original_delete_vpc_attachment = EC2Backend.delete_transit_gateway_vpc_attachment

    def delete_transit_gateway_vpc_attachment(
        self: Any, transit_gateway_attachment_id: str
    ) -> Any:
        attachment = _tgw_attachment(self, transit_gateway_attachment_id)
        if attachment.resource_type != "vpc":
            raise EC2ClientError(
                "InvalidTransitGatewayAttachmentID.NotFound",
                f"Transit Gateway Attachment {attachment.id} is not a VPC attachment.",
            )
        _remove_from_route_tables(self, attachment.id)
        deleted = original_delete_vpc_attachment(self, attachment.id)
        _blackhole_routes_to(self.account_id, attachment.id)
        return deleted

    original_delete_peering = EC2Backend.delete_transit_gateway_peering_attachment

    def delete_transit_gateway_peering_attachment(
        self: Any, transit_gateway_attachment_id: str
    ) -> Any:
        attachment = _tgw_attachment(self, transit_gateway_attachment_id)
        if attachment.resource_type != "peering":
            raise EC2ClientError(
                "InvalidTransitGatewayAttachmentID.NotFound",
                f"Transit Gateway Attachment {attachment.id} is not a peering attachment.",
            )
        deleted = original_delete_peering(self, attachment.id)
        for backend in _account_backends(self.account_id):
            if attachment.id in backend.transit_gateway_attachments:
                _remove_from_route_tables(backend, attachment.id)
        _blackhole_routes_to(self.account_id, attachment.id)
        return deleted

    def describe_transit_gateway_attachments(
        self: Any,
        transit_gateways_attachment_ids: list[str] | None = None,
        filters: Any = None,
    ) -> list[Any]:
        attachments = list(self.transit_gateway_attachments.values())
        if transit_gateways_attachment_ids:
            attachments = [a for a in attachments if a.id in transit_gateways_attachment_ids]
        return _filter_attachments(attachments, filters)

    def only_resource_type(resource_type: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def describe(self: Any, transit_gateways_attachment_ids: Any = None, filters: Any = None) -> Any:
            filters = dict(filters or {})
            transit_gateway_ids = filters.pop("transit-gateway-id", None)
            found = original(self, transit_gateways_attachment_ids, filters)
            found = [a for a in found if a.resource_type == resource_type]
            if transit_gateway_ids:
                found = [a for a in found if _matches_any(a.transit_gateway_id, transit_gateway_ids)]
            return found

        return describe

    EC2Backend.create_transit_gateway_vpc_attachment = create_transit_gateway_vpc_attachment
    EC2Backend.create_transit_gateway_peering_attachment = (
        create_transit_gateway_peering_attachment
    )
    EC2Backend.associate_transit_gateway_route_table = associate_transit_gateway_route_table
    EC2Backend.disassociate_transit_gateway_route_table = (
        disassociate_transit_gateway_route_table
    )
    EC2Backend.delete_transit_gateway_vpc_attachment = delete_transit_gateway_vpc_attachment
    EC2Backend.delete_transit_gateway_peering_attachment = (
        delete_transit_gateway_peering_attachment
    )
    EC2Backend.describe_transit_gateway_attachments = describe_transit_gateway_attachments
    EC2Backend.describe_transit_gateway_vpc_attachments = only_resource_type(
        "vpc", EC2Backend.describe_transit_gateway_vpc_attachments
    )
    EC2Backend.describe_transit_gateway_peering_attachments = only_resource_type(
        "peering", EC2Backend.describe_transit_gateway_peering_attachments
    )


# ---------------------------------------------------------------------------
# VPC route tables


def _tgw_attached_to_vpc(backend: Any, transit_gateway_id: str, vpc_id: str) -> bool:
    transit_gateway = backend.transit_gateways.get(transit_gateway_id)
    if transit_gateway is None or transit_gateway.state != "available":
        return False
    return any(
        attachment.resource_type == "vpc"
        and attachment.resource_id == vpc_id
        and attachment.transit_gateway_id == transit_gateway_id
        and attachment.state == "available"
        for attachment in backend.transit_gateway_attachments.values()
    )


def _vpc_route_state(self: Route) -> str:
    """Report blackhole when the route's ENI or transit gateway is gone.

    A transit gateway target also counts as gone when the gateway has no
    available attachment to the route table's VPC, as AWS shows it after
    DeleteTransitGatewayVpcAttachment.
    """
    backend = self.route_table.ec2_backend
    if self.interface is not None and self.interface.id not in backend.enis:
        return "blackhole"
    if self.transit_gateway is not None and not _tgw_attached_to_vpc(
        backend, self.transit_gateway.id, self.route_table.vpc_id
    ):
        return "blackhole"
    return "active"


def _check_vpc_route_target(
    backend: Any,
    table: RouteTable,
    transit_gateway_id: str | None,
    interface_id: str | None,
) -> None:
    if transit_gateway_id and not _tgw_attached_to_vpc(
        backend, transit_gateway_id, table.vpc_id
    ):
        # AWS returns this error until the gateway's attachment to the VPC
        # is available, not only for an unknown gateway id.
        raise EC2ClientError(
            "InvalidTransitGatewayID.NotFound",
            f"The transitGateway ID '{transit_gateway_id}' does not exist.",
        )
    if interface_id:
        interface = backend.get_network_interface(interface_id)
        if interface.subnet.vpc_id != table.vpc_id:
            raise EC2ClientError(
                "InvalidParameterValue",
                f"Route table {table.id} and network interface {interface_id} "
                "belong to different networks.",
            )


# DescribeRouteTables route.* filters that moto 5.2.1 lacks.
ROUTE_FILTER_VALUES: dict[str, Callable[[Route], Any]] = {
    "route.state": lambda route: route.state,
    "route.origin": lambda route: route.origin,
    "route.network-interface-id": lambda route: route.network_interface_id,
    "route.instance-id": lambda route: route.instance_id,
    "route.egress-only-internet-gateway-id": lambda route: route.egress_only_internet_gateway_id,
    "route.destination-ipv6-cidr-block": lambda route: route.destination_ipv6_cidr_block,
    "route.destination-prefix-list-id": lambda route: route.destination_prefix_list_id,
}


def _patch_vpc_routes() -> None:
    Route.state = property(_vpc_route_state)

    original_get_filter_value = RouteTable.get_filter_value

    def get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
        value_of = ROUTE_FILTER_VALUES.get(filter_name)
        if value_of is not None:
            return [value_of(route) for route in self._routes.values()]
        return original_get_filter_value(self, filter_name, method_name)

    RouteTable.get_filter_value = get_filter_value

    original_describe = EC2Backend.describe_route_tables

    def describe_route_tables(
        self: Any, route_table_ids: list[str] | None = None, filters: Any = None
    ) -> list[RouteTable]:
        tables = original_describe(self, route_table_ids, None)
        for name, values in (filters or {}).items():
            if name.startswith("tag"):
                tables = generic_filter({name: values}, tables)
                continue
            try:
                tables = [
                    table
                    for table in tables
                    if _matches_any(table.get_filter_value(name), values)
                ]
            except FilterNotImplementedError:
                raise EC2ClientError(
                    "InvalidParameterValue", f"The filter '{name}' is invalid"
                ) from None
        return tables

    EC2Backend.describe_route_tables = describe_route_tables

    original_create_route = EC2Backend.create_route

    def create_route(self: Any, *args: Any, **kwargs: Any) -> Route:
        arguments = _bound_arguments(original_create_route, (self, *args), kwargs)
        if arguments["local"]:
            return original_create_route(self, *args, **kwargs)
        table = self.get_route_table(arguments["route_table_id"])
        cidr = arguments["destination_cidr_block"]
        if cidr:
            network = _network(cidr)
            if network is None:
                raise InvalidDestinationCIDRBlockParameterError(cidr)
            # moto skips this check when the target is a network interface.
            for route in table._routes.values():
                if route.local or not route.destination_cidr_block:
                    continue
                if _network(route.destination_cidr_block) == network:
                    raise RouteAlreadyExistsError(cidr)
        _check_vpc_route_target(
            self, table, arguments["transit_gateway_id"], arguments["interface_id"]
        )
        return original_create_route(self, *args, **kwargs)

    EC2Backend.create_route = create_route

    original_replace_route = EC2Backend.replace_route

    def replace_route(self: Any, *args: Any, **kwargs: Any) -> Route:
        arguments = _bound_arguments(original_replace_route, (self, *args), kwargs)
        table = self.get_route_table(arguments["route_table_id"])
        cidr = arguments["destination_cidr_block"]
        route_id = generate_route_id(table.id, cidr, arguments["destination_ipv6_cidr_block"])
        if route_id in table._routes:
            _check_vpc_route_target(
                self, table, arguments["transit_gateway_id"], arguments["interface_id"]
            )
        # For a missing route moto returns the same error as AWS: InvalidParameterValue,
        # "There is no route defined for '<cidr>' in the route table. Use CreateRoute instead."
        return original_replace_route(self, *args, **kwargs)

    EC2Backend.replace_route = replace_route
