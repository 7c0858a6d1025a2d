"""What a stack costs by the hour, from the resources it declares and the price table (prices.json).

Three points: `floor` (every node group at minSize), `expected` (desiredSize) and `ceiling` (maxSize). Node
groups are priced at their first instance type (managed node groups launch on-demand capacity in the order
listed: the `prioritized` allocation strategy) and, at the ceiling, at their dearest. Usage-based charges (log
ingestion, S3 storage, NAT and endpoint data) are not in the figures: `usage_rates` lists their unit prices.
Read by the pack's gpu-budget rule and by `python -m offline cost`/`diff`, so both price alike.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy.proxy import UnknownValueError

from .shapes import NODE_GROUP_TYPES, gpu_pool_name, items, launch_template_of, launch_templates, mapping

POINTS = ("floor", "expected", "ceiling")
NOT_KNOWN_YET = "inputs not known until created"
HOURS_PER_MONTH = 730  # AWS's own convention in its price pages and calculator
SIZE_AT = {"floor": "minSize", "expected": "desiredSize", "ceiling": "maxSize"}
NOT_ON_DEMAND = {"SPOT": "Spot", "CAPACITY_BLOCK": "Capacity Block"}
USAGE = {  # price item -> what it is charged on, for the usage-based lines of a report
    "logs-ingestion-gb": "CloudWatch Logs ingestion, per GB",
    "logs-storage-gb-month": "CloudWatch Logs storage, per GB-month",
    "s3-standard-gb-month": "S3 Standard storage, per GB-month (first 50 TB)",
    "nat-gateway-gb": "NAT gateway data processed, per GB",
    "interface-endpoint-gb": "interface endpoint data processed, per GB",
}


@dataclass(frozen=True)
class Price:
    usd: float
    source: str


class PriceTable:
    """prices.json: list prices per region with their sources, and each EC2 type's GPUs."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data
        self.read = str(data["read"])
        self._ec2: Mapping[str, Any] = data["ec2"]
        self._services: Mapping[str, Any] = data["services"]

    def ec2(self, instance_type: str, region: str) -> Price | None:
        found = mapping(mapping(self._ec2.get(instance_type)).get("usdPerHour")).get(region)
        return Price(float(found[0]), str(found[1])) if found else None

    def service(self, item: str, region: str) -> Price | None:
        found = mapping(self._services.get(item)).get(region)
        return Price(float(found[0]), str(found[1])) if found else None

    def gpus(self, instance_type: str) -> tuple[int, str] | None:
        """(GPUs per instance, GPU model), or None for a type without GPUs (or unknown)."""
        entry = mapping(self._ec2.get(instance_type))
        return (int(entry["gpus"]), str(entry["gpuModel"])) if "gpus" in entry else None

    def extended_support(self, version: str, support_type: object, today: datetime.date) -> bool:
        """Whether the control plane bills extended support today: its minor is past standard support and
        the cluster did not choose STANDARD (which EKS upgrades at the end of standard support instead:
        EKS user guide, "Cluster upgrade policy")."""
        ends = mapping(mapping(self._data.get("eksStandardSupportEnds")).get("minors")).get(version)
        return support_type != "STANDARD" and ends is not None and today >= datetime.date.fromisoformat(str(ends))

    def regions(self) -> set[str]:
        """Every region with at least one price."""
        tables = [mapping(e).get("usdPerHour") for e in self._ec2.values()] + list(self._services.values())
        return {region for prices in tables for region in mapping(prices)}


def price_table() -> PriceTable:
    """The published prices (read each time: 12 kB, and a mutation tool must reach what reads them)."""
    return PriceTable(json.loads((Path(__file__).resolve().parent / "prices.json").read_text()))


@dataclass
class Line:
    """One priced resource: $/hour and GPUs at each point, what it is, what could not be priced."""

    urn: str
    name: str
    resource_type: str
    what: str
    usd_per_hour: dict[str, float] = field(default_factory=lambda: dict.fromkeys(POINTS, 0.0))
    gpus: dict[str, dict[str, int]] = field(default_factory=lambda: {p: {} for p in POINTS})
    pool: str | None = None
    unpriced: list[str] = field(default_factory=list)
    caveat: str | None = None
    unknown: UnknownValueError | None = None  # what a first preview could not read

    def add(self, usd: float, point: str | None = None) -> None:
        for p in [point] if point else POINTS:
            self.usd_per_hour[p] += usd


def region_of(resource: Any) -> str | None:
    """The region of a resource's provider (an explicit provider's `region` input)."""
    region = mapping(getattr(resource.provider, "props", None)).get("region")
    return region if isinstance(region, str) and region else None


def _disk_gib(node_group: Any, template: Any | None) -> int:
    """Each node's root volume: the launch template's first EBS mapping, else the node group's diskSize
    (EKS's default is 20 GiB: CreateNodegroup API, diskSize)."""
    for mapping_ in items(template.props.get("blockDeviceMappings")) if template is not None else []:
        size = mapping(mapping(mapping_).get("ebs")).get("volumeSize")
        if isinstance(size, (int, float)):
            return int(size)
    size = node_group.props.get("diskSize")
    return int(size) if isinstance(size, (int, float)) else 20


def _node_group(r: Any, region: str, table: PriceTable, templates: Mapping[str, Any]) -> Line:
    types = [t for t in items(r.props.get("instanceTypes")) if isinstance(t, str)]
    template = launch_template_of(r, templates)
    if not types and template is not None and isinstance(template.props.get("instanceType"), str):
        types = [template.props["instanceType"]]
    scaling = mapping(r.props.get("scalingConfig"))
    disk = _disk_gib(r, template)
    what = f"{'/'.join(types) or '?'} + {disk} GiB gp3 each"
    line = Line(r.urn, r.name, r.resource_type, what, pool=gpu_pool_name(r.props))
    if not types:
        line.unpriced.append("instance type unknown")
    # GPUs do not depend on prices: the ceiling holds the type with the most GPUs (a pool may list sizes)
    gpus = {t: table.gpus(t) for t in types}
    most_gpus = max(types, key=lambda t: (gpus[t] or (0, ""))[0], default=None)
    if r.props.get("capacityType") == "CAPACITY_BLOCK":
        # paid up front for the whole block when it is bought (EC2 API CapacityBlockOffering.upfrontFee),
        # whatever runs: not an hourly figure
        line.unpriced.append("Capacity Block: paid up front for the whole block (its offering's upfront fee)")
        prices: dict[str, Price | None] = {}
    else:
        if r.props.get("capacityType") == "SPOT":
            line.caveat = "Spot: shown at the on-demand equivalent; the real price varies"
        prices = {t: table.ec2(t, region) for t in types}
        line.unpriced += [f"EC2 {t} in {region}" for t, p in prices.items() if p is None]
    gp3 = table.service("ebs-gp3-gib-month", region)
    if gp3 is None:
        line.unpriced.append(f"EBS gp3 in {region}")
    for point in POINTS:
        nodes = scaling.get(SIZE_AT[point])
        if not isinstance(nodes, (int, float)):
            line.unpriced.append(f"scalingConfig.{SIZE_AT[point]} not known")
            continue
        nodes = int(nodes)
        chosen = _dearest(types, prices) if point == "ceiling" else (types[0] if types else None)
        price = prices.get(chosen)  # type: ignore[arg-type]  # None: no type, no price
        if price is not None:
            line.add(nodes * price.usd, point)
        if gp3 is not None:
            line.add(nodes * disk * gp3.usd / HOURS_PER_MONTH, point)
        counted = most_gpus if point == "ceiling" else chosen
        per_node = gpus.get(counted)  # type: ignore[arg-type]
        if per_node and nodes:
            line.gpus[point] = {per_node[1]: nodes * per_node[0]}
    return line


def _dearest(types: list[str], prices: Mapping[str, Price | None]) -> str | None:
    """The type that costs most an hour (what a pool's ceiling may hold when capacity falls back); None where
    no type has a price."""
    priced = [(p.usd, t) for t in types if (p := prices.get(t)) is not None]
    return max(priced)[1] if priced else None


def _hourly(
    r: Any, region: str, table: PriceTable, item: str, what: str, count: int = 1, per_month: bool = False
) -> Line:
    line = Line(r.urn, r.name, r.resource_type, what)
    price = table.service(item, region)
    if price is None:
        line.unpriced.append(f"{item} in {region}")
    else:
        line.add(count * price.usd / (HOURS_PER_MONTH if per_month else 1))
    return line


def price_resource(
    r: Any, region: str, table: PriceTable, templates: Mapping[str, Any], today: datetime.date
) -> Line | None:
    """The hourly price of one resource, or None for what is free or charged only by use."""
    t, props = r.resource_type, r.props
    if t in NODE_GROUP_TYPES:
        return _node_group(r, region, table, templates)
    if t == "aws:eks/cluster:Cluster":
        version = str(props.get("version") or "?")
        extended = table.extended_support(version, mapping(props.get("upgradePolicy")).get("supportType"), today)
        item = "eks-cluster-extended-hour" if extended else "eks-cluster-hour"
        return _hourly(
            r, region, table, item, f"EKS {version} control plane ({'extended' if extended else 'standard'} support)"
        )
    if t == "aws:ec2/natGateway:NatGateway":
        return _hourly(r, region, table, "nat-gateway-hour", "NAT gateway")
    if t == "aws:ec2/eip:Eip":
        return _hourly(r, region, table, "public-ipv4-hour", "public IPv4 address")
    if t == "aws:ec2/vpcEndpoint:VpcEndpoint" and props.get("vpcEndpointType") == "Interface":
        zones = len(items(props.get("subnetIds")))
        return _hourly(r, region, table, "interface-endpoint-az-hour", f"interface endpoint in {zones} AZ(s)", zones)
    if t == "aws:kms/key:Key":
        return _hourly(r, region, table, "kms-key-month", "KMS key", per_month=True)
    return None


def usage_rates(resources: Iterable[Any], region: str, table: PriceTable) -> dict[str, Price | None]:
    """The usage-based charges this stack incurs (not in the hourly figures), with their unit prices."""
    types = {r.resource_type for r in resources}
    present = {
        "logs-ingestion-gb": "aws:cloudwatch/logGroup:LogGroup" in types,
        "logs-storage-gb-month": "aws:cloudwatch/logGroup:LogGroup" in types,
        "s3-standard-gb-month": bool(types & {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}),
        "nat-gateway-gb": "aws:ec2/natGateway:NatGateway" in types,
        "interface-endpoint-gb": "aws:ec2/vpcEndpoint:VpcEndpoint" in types,
    }
    return {item: table.service(item, region) for item, there in present.items() if there}


def price_stack(
    resources: list[Any],
    table: PriceTable | None = None,
    today: datetime.date | None = None,
    default_region: str | None = None,
) -> list[Line]:
    """Every priced resource of a stack, as of `today`; a resource whose region is unknown is one unpriced line."""
    table = table or price_table()
    today = today or datetime.date.today()
    templates = launch_templates(resources)
    lines = []
    for r in resources:
        region = region_of(r) or default_region
        if region is None:
            if r.resource_type.startswith("aws:"):
                probe = price_resource(r, "?", table, templates, today)
                if probe is not None:
                    lines.append(Line(r.urn, r.name, r.resource_type, probe.what, unpriced=["region unknown"]))
            continue
        try:
            line = price_resource(r, region, table, templates, today)
        except UnknownValueError as err:  # a first preview: an input only known once something else exists
            line = Line(r.urn, r.name, r.resource_type, r.resource_type, unpriced=[NOT_KNOWN_YET], unknown=err)
        if line is not None:
            lines.append(line)
    return lines


def gpus_of(lines: Iterable[Line], point: str) -> dict[str, int]:
    """GPUs per model at one point."""
    total: dict[str, int] = {}
    for line in lines:
        for model, count in line.gpus[point].items():
            total[model] = total.get(model, 0) + count
    return total
