"""The stack config, parsed and validated once, at the edge.

`Pulumi.<stack>.yaml` holds one object, `gpu-platform:platform`, written in
camelCase. `load_platform_config` turns it into a frozen `PlatformConfig` or
raises `ConfigError` with one line per problem, each naming the path the user
wrote and what is allowed. Components take these models, never raw dicts.
"""

from __future__ import annotations

import datetime
import difflib
import json
import re
import types
import typing
from collections.abc import Iterable
from enum import Enum
from typing import Annotated, Any, Self, Union

import pulumi
from gpu_platform.components import addressing, catalog, naming, node_labels, regions
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

CONFIG_KEY = "platform"


def _utc_today() -> datetime.date:
    """EKS support windows are published by UTC date."""
    return datetime.datetime.now(datetime.UTC).date()


class ConfigError(pulumi.RunError):
    """A stack config the platform cannot build; the message lists every problem.

    A `pulumi.RunError` so that `pulumi up` prints the message without a traceback.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid stack config:\n  " + "\n  ".join(problems))


# --- value types with messages that say what is allowed ---------------------


def _between(low: int, high: int) -> AfterValidator:
    def check(value: int) -> int:
        if not low <= value <= high:
            raise PydanticCustomError(
                "range",
                "must be between {low} and {high} (got {got})",
                {"low": low, "high": high, "got": value},
            )
        return value

    return AfterValidator(check)


def _one_of(allowed: tuple[Any, ...]) -> AfterValidator:
    def check(value: Any) -> Any:
        if value not in allowed:
            raise PydanticCustomError(
                "one_of",
                "must be one of {allowed} (got {got})",
                {"allowed": ", ".join(str(a) for a in allowed), "got": value},
            )
        return value

    return AfterValidator(check)


def _matching(pattern: str, explain: str) -> AfterValidator:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise PydanticCustomError("pattern", "must be {explain} (got '{got}')", {"explain": explain, "got": value})
        return value

    return AfterValidator(check)


LabelValue = Annotated[
    str,
    _matching(
        r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?",
        "1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit "
        "(it is both an AWS tag and a Kubernetes label value)",
    ),
]
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
DnsLabel = Annotated[
    str,
    _matching(
        _DNS_LABEL,
        "1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit",
    ),
]
_REGION = r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d"


def _known_region(value: str) -> str:
    problem = regions.region_problem(value)
    if problem is not None:
        raise PydanticCustomError("region", "{problem}", {"problem": f"'{value}' {problem}"})
    partition = regions.REGIONS[value].partition
    if partition != "aws":
        raise PydanticCustomError(
            "region",
            "'{got}' is in the {partition} partition; the platform's ARNs and service principals are "
            "written for the aws partition only (see the README's known risks)",
            {"got": value, "partition": partition},
        )
    return value


Region = Annotated[str, _matching(_REGION, "an AWS region such as us-east-1"), AfterValidator(_known_region)]
RoleArn = Annotated[
    str,
    _matching(
        r"arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
        "an IAM role ARN such as arn:aws:iam::123456789012:role/platform-admins",
    ),
]
ReservationId = Annotated[str, _matching(r"cr-[0-9a-f]{17}", "a capacity reservation id such as cr-0123456789abcdef0")]
LogRetentionDays = Annotated[int, _one_of(catalog.LOG_RETENTION_DAYS)]


class Environment(str, Enum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


class NatGateways(str, Enum):
    """`perAz` survives the loss of an AZ; `single` is cheaper and fits dev."""

    PER_AZ = "perAz"
    SINGLE = "single"


class FlowLogTraffic(str, Enum):
    ALL = "ALL"
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"


class AmiType(str, Enum):
    AL2023_NVIDIA = "AL2023_x86_64_NVIDIA"
    AL2023_ARM_NVIDIA = "AL2023_ARM_64_NVIDIA"
    BOTTLEROCKET_NVIDIA = "BOTTLEROCKET_x86_64_NVIDIA"
    BOTTLEROCKET_ARM_NVIDIA = "BOTTLEROCKET_ARM_64_NVIDIA"


class CapacityType(str, Enum):
    ON_DEMAND = "ON_DEMAND"
    SPOT = "SPOT"
    CAPACITY_BLOCK = "CAPACITY_BLOCK"


class WorkloadType(str, Enum):
    INFERENCE = "inference"
    TRAINING = "training"
    BATCH = "batch"


class SharingMode(str, Enum):
    NONE = "none"
    TIME_SLICING = "time-slicing"
    MIG = "mig"


class MigStrategy(str, Enum):
    SINGLE = "single"
    MIXED = "mixed"


class AdmissionEnforcement(str, Enum):
    """Gatekeeper's enforcementAction: refuse, only warn the client, or only record in the audit."""

    DENY = "deny"
    WARN = "warn"
    DRYRUN = "dryrun"


# Namespaces Kubernetes or the platform owns: no team may take one (a team named `monitoring` would share
# Prometheus's namespace and its exemption from admission). tests/test_tenancy.py checks the plan's namespaces.
RESERVED_NAMESPACES = (
    "default",
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "gatekeeper-system",
    "gpu-operator",
    "monitoring",
    "logging",
    "inference",
)


# --- the models -------------------------------------------------------------


class _Model(BaseModel):
    """camelCase keys as Pulumi users write them; unknown keys are errors."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
    )


def _repeated(names: Iterable[str]) -> list[str]:
    return sorted({n for n in names if list(names).count(n) > 1})


_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?")
_SCALE = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value: str) -> float:
    """A Kubernetes quantity of the form `Quantity` accepts (16, 500m, 64Gi) as a number."""
    matched = _QUANTITY.fullmatch(value)
    if matched is None:
        raise ValueError(f"{value!r} is not a Kubernetes quantity such as 16, 500m or 64Gi")
    return float(matched[1]) * _SCALE.get(matched[2] or "", 1)


def _amount(value: float, unit: str) -> str:
    return f"{value / 2**30:g}Gi" if unit == "memory" else f"{value:g}"


def _exceeds(
    placed: list[tuple[int, ServiceConfig]], per_pod: float, allowed: float, unit: str, limit: str
) -> list[str]:
    """The problem, if the services' pods at their most replicas need more than `allowed` of `unit` (`per_pod`
    each); `limit` says whose limit it is, with {limit} where the allowed amount goes."""
    pods = sum(service.most_replicas for _, service in placed)
    if pods * per_pod <= allowed:
        return []
    if len(placed) == 1:
        i, service = placed[0]
        where, who = f"{i}.{service.most_replicas_field}", f"service {service.name}"
    else:
        where, who = "-.services", "services " + ", ".join(service.name for _, service in placed)
    need = f"{_amount(pods * per_pod, unit)} {unit}"
    return [f"{where}: {who}: {pods} replicas need {need}; {limit.format(limit=_amount(allowed, unit))}"]


def _section() -> Any:
    """A nested section's default: validated like one the user wrote, so its checks always run."""
    return Field(default_factory=dict, validate_default=True)


class CostLabels(_Model):
    """Who pays: becomes AWS tags and Kubernetes labels (see components/labels.py)."""

    cost_center: LabelValue
    product: LabelValue


class FlowLogsConfig(_Model):
    enabled: bool = True
    retention_days: LogRetentionDays = 365
    traffic_type: FlowLogTraffic = FlowLogTraffic.ALL


DEFAULT_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "logs", "ec2")


class NetworkConfig(_Model):
    az_count: Annotated[int, _between(2, 6)] = 3
    vpc_cidr: str = Field(default="10.0.0.0/16", validate_default=True)
    nat_gateways: NatGateways = NatGateways.PER_AZ
    interface_endpoints: tuple[
        Annotated[str, _matching(r"[a-z0-9]+([.-][a-z0-9]+)*", "an AWS service endpoint name such as ecr.api or sts")],
        ...,
    ] = DEFAULT_INTERFACE_ENDPOINTS
    flow_logs: FlowLogsConfig = _section()

    @field_validator("vpc_cidr")
    @classmethod
    def _private_block_with_room_for_every_az(cls, value: str, info: ValidationInfo) -> str:
        network = addressing.check_vpc_cidr(value)
        if "az_count" in info.data:
            try:
                addressing.subnet_layout(network, info.data["az_count"])
            except addressing.LayoutError as err:
                raise PydanticCustomError("layout", "{why}", {"why": str(err)}) from None
        return value

    @field_validator("interface_endpoints")
    @classmethod
    def _no_repeats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = _repeated(value)
        if repeated:
            raise PydanticCustomError("unique", "lists {names} more than once", {"names": ", ".join(repeated)})
        return value


class NodeGroupSize(_Model):
    """Bounds of a managed node group; scale to zero is allowed."""

    min_size: Annotated[int, _between(0, 450)] = 0
    desired_size: Annotated[int, _between(0, 450)] = 0
    max_size: Annotated[int, _between(1, 450)] = 1

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min_size <= self.desired_size <= self.max_size:
            raise PydanticCustomError(
                "size_order",
                "needs minSize <= desiredSize <= maxSize (got {a} <= {b} <= {c})",
                {"a": self.min_size, "b": self.desired_size, "c": self.max_size},
            )
        return self


class SystemNodeGroupConfig(NodeGroupSize):
    """The CPU node group for platform services (operators, Prometheus, ...)."""

    instance_types: tuple[str, ...] = Field(default=("m7i.xlarge",), min_length=1)
    min_size: Annotated[int, _between(1, 450)] = 2
    desired_size: Annotated[int, _between(1, 450)] = 2
    max_size: Annotated[int, _between(1, 450)] = 4
    disk_size_gib: Annotated[int, _between(20, 16384)] = 50


class ClusterConfig(_Model):
    kubernetes_version: Annotated[str, _one_of(catalog.EKS_KUBERNETES_VERSIONS)] = Field(
        default=catalog.DEFAULT_KUBERNETES_VERSION, validate_default=True
    )
    # A version past its end of standard support costs extended-support rates; only with this opt-in.
    extended_support: bool = False
    # Cluster Autoscaler: pools grow when GPU pods wait and shrink to minSize when nodes idle.
    autoscaler: bool = True
    endpoint_public_access: bool = False
    public_access_cidrs: tuple[str, ...] = Field(default=(), validate_default=True)
    admin_role_arns: tuple[RoleArn, ...] = ()
    system_node_group: SystemNodeGroupConfig = _section()

    @model_validator(mode="after")
    def _supported_on_eks_today(self, info: ValidationInfo) -> Self:
        today = (info.context or {}).get("today") or _utc_today()
        release = catalog.EKS_RELEASES[self.kubernetes_version]
        newer = " or ".join(
            v for v, r in catalog.EKS_RELEASES.items() if r.in_standard_support(today) and r.released > release.released
        ) or ("a newer version, once components/catalog.py knows it (EKS_RELEASES, CLUSTER_AUTOSCALER)")
        if not release.supported(today):
            raise PydanticCustomError(
                "field:kubernetesVersion",
                "{v} left EKS extended support on {end}; use {newer}",
                {"v": release.minor, "end": release.end_of_extended.isoformat(), "newer": newer},
            )
        if not release.in_standard_support(today) and not self.extended_support:
            standard_usd, extended_usd = catalog.eks_control_plane_usd_per_hour()
            raise PydanticCustomError(
                "field:kubernetesVersion",
                "{v} left EKS standard support on {end} and costs extended-support rates (${ext} instead of "
                "${std} per cluster-hour); upgrade to {newer}, or set cluster.extendedSupport: true to pay them",
                {
                    "v": release.minor,
                    "end": release.end_of_standard.isoformat(),
                    "newer": newer,
                    "ext": f"{extended_usd:.2f}",
                    "std": f"{standard_usd:.2f}",
                },
            )
        return self

    @property
    def support_type(self) -> str:
        """EKS upgradePolicy.supportType: STANDARD upgrades the control plane when standard support ends
        instead of billing extended support (the API's own default is EXTENDED)."""
        return "EXTENDED" if self.extended_support else "STANDARD"

    @field_validator("public_access_cidrs")
    @classmethod
    def _cidrs_of_a_public_endpoint(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for cidr in value:
            addressing.parse_ipv4_network(cidr)
        public = info.data.get("endpoint_public_access")
        if value and not public:
            raise PydanticCustomError("public_cidrs", "only applies with endpointPublicAccess: true", {})
        if public and not value:
            raise PydanticCustomError(
                "public_cidrs",
                "must list who may reach the public endpoint (e.g. your office or VPN CIDRs); "
                "without it AWS opens it to 0.0.0.0/0",
                {},
            )
        return value


class SharingConfig(_Model):
    """How a pool's GPUs are shared: whole, time-sliced, or cut into MIG instances."""

    mode: SharingMode = SharingMode.NONE
    replicas: Annotated[int, _between(2, 16)] | None = Field(default=None, validate_default=True)
    # Time-slicing: a pod asking for more than one shared GPU fails instead of getting no more compute.
    fail_requests_greater_than_one: bool | None = None
    # MIG: `mixed` advertises each profile as its own resource (nvidia.com/mig-1g.10gb).
    strategy: MigStrategy | None = None
    # A preset name (all-1g, all-balanced, ...) or profile counts per GPU ({"1g.10gb": 7}).
    layout: Any = Field(default=None, validate_default=True)

    @field_validator("replicas", "fail_requests_greater_than_one", "strategy")
    @classmethod
    def _only_in_own_mode(cls, value: Any, info: ValidationInfo) -> Any:
        owner = SharingMode.MIG if info.field_name == "strategy" else SharingMode.TIME_SLICING
        mode = info.data.get("mode")
        if value is not None and mode is not None and mode != owner:
            raise PydanticCustomError(
                "mode_field",
                "only applies to mode {owner} (mode is {mode})",
                {"owner": owner.value, "mode": mode.value},
            )
        if info.field_name == "replicas" and value is None and mode == SharingMode.TIME_SLICING:
            raise PydanticCustomError("mode_field", "is required with mode time-slicing (2 to 16)", {})
        return value

    @property
    def mig_strategy(self) -> MigStrategy:
        return self.strategy or MigStrategy.MIXED

    @property
    def fails_requests_greater_than_one(self) -> bool:
        return True if self.fail_requests_greater_than_one is None else self.fail_requests_greater_than_one

    @field_validator("layout")
    @classmethod
    def _preset_or_profile_counts(cls, value: Any, info: ValidationInfo) -> str | dict[str, int] | None:
        mode = info.data.get("mode")
        if value is None:
            if mode == SharingMode.MIG:
                raise PydanticCustomError(
                    "mode_field", "is required with mode mig: a preset such as all-1g, or profile counts", {}
                )
            return None
        if mode is not None and mode != SharingMode.MIG:
            raise PydanticCustomError("mode_field", "only applies to mode mig (mode is {mode})", {"mode": mode.value})
        if isinstance(value, str) and value:
            return value
        if (
            isinstance(value, dict)
            and value
            and all(isinstance(k, str) and type(n) is int and 1 <= n <= 7 for k, n in value.items())
        ):
            return dict(value)
        raise PydanticCustomError(
            "layout",
            "must be a preset name such as all-1g, or profile counts from 1 to 7 such as 1g.10gb: 7 (got {got})",
            {"got": repr(value)},
        )


def _node_labels(value: dict[str, str]) -> dict[str, str]:
    """Extra node labels: keys EKS accepts on a node group, values Kubernetes accepts, none the platform sets."""
    problems = [p for p in (node_labels.label_key_problem(k) for k in value) if p]
    owned = sorted(k for k in value if k in node_labels.PLATFORM_OWNED or k.startswith(node_labels.NVIDIA_PREFIX))
    problems += [f"{k!r} is set by the platform itself" for k in owned]
    problems += [
        f"the value of {k!r} {node_labels.label_value_problem(v)}"
        for k, v in value.items()
        if node_labels.label_value_problem(v)
    ]
    if problems:
        raise PydanticCustomError("labels", "{problems}", {"problems": "; ".join(problems)})
    return value


NodeLabels = Annotated[dict[str, str], AfterValidator(_node_labels)]
AvailabilityZone = Annotated[str, _matching(rf"{_REGION}[a-z]", "an availability zone name such as us-east-1a")]


class GpuPoolConfig(_Model):
    name: DnsLabel
    instance_types: tuple[str, ...] = Field(min_length=1)
    ami_type: AmiType = AmiType.AL2023_NVIDIA
    capacity_type: CapacityType = CapacityType.ON_DEMAND
    capacity_reservation_id: ReservationId | None = Field(default=None, validate_default=True)
    # When the Capacity Block starts (UTC, as the reservation shows it): the group grows to size.desiredSize then.
    capacity_block_start: datetime.datetime | None = Field(default=None, validate_default=True)
    # One AZ's private subnet only: a Capacity Block's AZ, or where EFA nodes meet in one placement group.
    availability_zone: AvailabilityZone | None = Field(default=None, validate_default=True)
    # EFA interfaces (one per network card) and a cluster placement group, for multi-node NCCL traffic.
    efa: bool = False
    size: NodeGroupSize = _section()
    disk_size_gib: Annotated[int, _between(20, 16384)] = 200
    workload_type: WorkloadType = WorkloadType.INFERENCE
    node_labels: NodeLabels = Field(default_factory=dict)
    sharing: SharingConfig = _section()

    @field_validator("instance_types")
    @classmethod
    def _gpu_instances_of_one_model(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [t for t in value if t not in catalog.GPU_INSTANCES]
        if unknown:
            raise PydanticCustomError(
                "instance",
                "{unknown} is not a GPU instance type the platform knows; allowed: {allowed}",
                {"unknown": ", ".join(unknown), "allowed": ", ".join(sorted(catalog.GPU_INSTANCES))},
            )
        models = sorted({catalog.GPU_INSTANCES[t].gpu.model for t in value})
        if len(models) > 1:
            raise PydanticCustomError(
                "instance",
                "mixes GPU models ({models}); a pool has one GPU model, use one pool each",
                {"models": ", ".join(models)},
            )
        return value

    @property
    def gpu(self) -> catalog.Gpu:
        return catalog.GPU_INSTANCES[self.instance_types[0]].gpu

    @property
    def efa_interfaces(self) -> int:
        """EFA interfaces per node (one per network card) when `efa` is on; every type has the same count."""
        return catalog.GPU_INSTANCES[self.instance_types[0]].efa_interfaces if self.efa else 0

    @property
    def gpus_per_node(self) -> int:
        """GPUs of the smallest instance type: what every node of the pool has at least."""
        return min(catalog.GPU_INSTANCES[t].gpu_count for t in self.instance_types)

    def mig_layout(self) -> dict[str, int]:
        """Profile counts per GPU, with a preset name resolved."""
        layout = self.sharing.layout
        return dict(catalog.mig_presets(self.gpu)[layout]) if isinstance(layout, str) else dict(layout)

    @field_validator("ami_type")
    @classmethod
    def _x86_image_for_x86_instances(cls, value: AmiType) -> AmiType:
        if "ARM" in value.value:
            raise PydanticCustomError(
                "ami",
                "{got} is for Arm instances, and every GPU instance type here is x86_64; use "
                "AL2023_x86_64_NVIDIA or BOTTLEROCKET_x86_64_NVIDIA",
                {"got": value.value},
            )
        return value

    @field_validator("sharing")
    @classmethod
    def _sharing_fits_the_gpu(cls, sharing: SharingConfig, info: ValidationInfo) -> SharingConfig:
        types, ami = info.data.get("instance_types"), info.data.get("ami_type")
        if not types or ami is None:
            return sharing  # already reported
        gpu = catalog.GPU_INSTANCES[types[0]].gpu
        where = f"{gpu.model} ({', '.join(types)})"
        if sharing.mode != SharingMode.NONE and ami == AmiType.BOTTLEROCKET_NVIDIA:
            raise PydanticCustomError(
                "field:mode",
                "{mode} needs the GPU Operator's device plugin, which Bottlerocket replaces with "
                "its own; use amiType AL2023_x86_64_NVIDIA",
                {"mode": sharing.mode.value},
            )
        if sharing.mode != SharingMode.MIG:
            return sharing
        if not gpu.mig:
            raise PydanticCustomError("field:mode", "{where} has no MIG; share it with time-slicing", {"where": where})
        layout = sharing.layout
        if isinstance(layout, str):
            presets = catalog.mig_presets(gpu)
            if layout not in presets:
                raise PydanticCustomError(
                    "field:layout",
                    "{got} is not a MIG preset of {where}; allowed: {allowed}, or profile counts",
                    {"got": layout, "where": where, "allowed": ", ".join(presets)},
                )
            layout = presets[layout]
        problems = catalog.mig_layout_problems(gpu, layout, where)
        if problems:
            raise PydanticCustomError("field:layout", "{problems}", {"problems": "; ".join(problems)})
        if sharing.strategy == MigStrategy.SINGLE and len(layout) > 1:
            raise PydanticCustomError(
                "field:strategy",
                "single advertises every MIG device as nvidia.com/gpu, so the layout must use "
                "one profile (got {profiles}); use strategy mixed",
                {"profiles": ", ".join(layout)},
            )
        return sharing

    @field_validator("capacity_reservation_id")
    @classmethod
    def _reservation_iff_capacity_block(cls, value: str | None, info: ValidationInfo) -> str | None:
        capacity = info.data.get("capacity_type")
        if capacity == CapacityType.CAPACITY_BLOCK and value is None:
            raise PydanticCustomError("reservation", "is required with capacityType CAPACITY_BLOCK", {})
        if capacity not in (None, CapacityType.CAPACITY_BLOCK) and value is not None:
            raise PydanticCustomError(
                "reservation", "only applies to capacityType CAPACITY_BLOCK (got {got})", {"got": capacity.value}
            )
        return value

    @field_validator("capacity_block_start")
    @classmethod
    def _start_of_a_capacity_block(
        cls, value: datetime.datetime | None, info: ValidationInfo
    ) -> datetime.datetime | None:
        if value is None:
            return None
        if info.data.get("capacity_type") != CapacityType.CAPACITY_BLOCK:
            raise PydanticCustomError("start", "only applies to capacityType CAPACITY_BLOCK", {})
        if value.tzinfo is None:
            raise PydanticCustomError(
                "start", "needs a time zone, e.g. 2026-12-01T11:30:00Z (got {got})", {"got": value.isoformat()}
            )
        return value.astimezone(datetime.UTC)

    @field_validator("availability_zone")
    @classmethod
    def _one_zone_for_capacity_blocks(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("capacity_type") == CapacityType.CAPACITY_BLOCK:
            raise PydanticCustomError(
                "zone",
                "is required with capacityType CAPACITY_BLOCK: a Capacity Block lives in one AZ; give the "
                "AZ of the reservation (aws ec2 describe-capacity-reservations)",
                {},
            )
        region = (info.context or {}).get("region")
        if value is not None and region and value not in regions.REGIONS[region].zones:
            raise PydanticCustomError(
                "zone",
                "{got} is not an AZ of the stack's region {region} ({zones})",
                {"got": value, "region": region, "zones": ", ".join(regions.REGIONS[region].zones)},
            )
        return value

    @model_validator(mode="after")
    def _capacity_blocks_and_efa_fit_their_instances(self) -> Self:
        """One line per problem, each naming the key to change."""
        problems: list[tuple[str, str]] = []
        instances = [catalog.GPU_INSTANCES[t] for t in self.instance_types]
        if self.capacity_type == CapacityType.CAPACITY_BLOCK:
            unsold = [i.instance_type for i in instances if not i.capacity_block]
            if unsold:
                problems.append(
                    (
                        "instanceTypes",
                        (
                            f"{', '.join(unsold)} is not sold as a Capacity Block; allowed: "
                            f"{', '.join(catalog.CAPACITY_BLOCK_TYPES)}"
                        ),
                    )
                )
            elif len(instances) > 1:
                problems.append(("instanceTypes", "a Capacity Block reserves one instance type; list only that one"))
            if self.size.min_size > 0:
                problems.append(
                    (
                        "size",
                        "minSize must be 0 with CAPACITY_BLOCK: EKS scales the group to 0 before the reservation ends",
                    )
                )
        if self.efa:
            without = [i.instance_type for i in instances if not i.efa_interfaces]
            if without:
                problems.append(
                    ("efa", f"{', '.join(without)} has no EFA; EFA types here: {', '.join(catalog.EFA_TYPES)}")
                )
            elif len({i.efa_interfaces for i in instances}) > 1:
                problems.append(
                    (
                        "instanceTypes",
                        "EFA pools need instance types with the same number of network cards; use one pool per type",
                    )
                )
            if self.availability_zone is None:
                problems.append(
                    (
                        "availabilityZone",
                        (
                            "is required with efa: EFA traffic stays in one subnet and the "
                            "cluster placement group in one AZ"
                        ),
                    )
                )
        if problems:
            raise PydanticCustomError(
                "pool_problems", "{problems}", {"problems": "\n".join(f"{key}: {why}" for key, why in problems)}
            )
        return self


class StorageConfig(_Model):
    """Buckets and their key; `protect` keeps them through `pulumi destroy`."""

    # None: `<project>-<stack>` (see prefix_for); either way checked against S3's rules at load time.
    bucket_prefix: str | None = Field(default=None, validate_default=True)
    protect: bool = True
    minimum_tls_version: Annotated[str, _one_of(("1.2", "1.3"))] | None = "1.2"
    noncurrent_version_days: Annotated[int, _between(1, 3650)] = 90
    access_log_retention_days: Annotated[int, _between(1, 3650)] = 365

    def prefix_for(self, project: str, stack: str) -> str:
        """The bucket name prefix of a stack: the one chosen, or `<project>-<stack>`."""
        return self.bucket_prefix or naming.default_prefix(project, stack)

    @field_validator("bucket_prefix")
    @classmethod
    def _bucket_names_fit_s3_rules(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Checks the chosen prefix, or the derived one when the project and stack are known."""
        context = info.context or {}
        if value is not None:
            naming.check_bucket_prefix(value, context.get("region"), chosen=True)
        elif {"project", "stack"} <= set(context):
            naming.check_bucket_prefix(
                naming.default_prefix(context["project"], context["stack"]), context.get("region"), chosen=False
            )
        return value


class AlertingConfig(_Model):
    """Where Alertmanager sends alerts. Set the secrets with `pulumi config set --secret --path`."""

    slack_webhook_url: SecretStr | None = None
    slack_channel: Annotated[str, _matching(r"#[a-z0-9][a-z0-9._-]{0,79}", "a Slack channel such as #gpu-alerts")] = (
        "#gpu-platform-alerts"
    )
    pagerduty_routing_key: SecretStr | None = None
    # A dead man's switch: a heartbeat URL that takes a plain POST (e.g. healthchecks.io) and that Watchdog
    # pings every one to two minutes; give it a grace period of 3 minutes or more.
    dead_mans_switch_url: SecretStr | None = None


class ObservabilityConfig(_Model):
    """Metrics, dashboards, alerts and logs; each part can be switched off where a stack runs lean."""

    enabled: bool = True  # Prometheus, Alertmanager, kube-state-metrics, node exporter, GPU alerts
    grafana: bool = True  # dashboards (needs enabled)
    logs: bool = True  # Fluent Bit to CloudWatch Logs
    metrics_retention_days: Annotated[int, _between(1, 365)] = 15
    metrics_volume_gib: Annotated[int, _between(10, 16384)] = 100
    log_retention_days: LogRetentionDays = 30
    # Grafana's admin password; without it one is generated at deploy time (a secret stack output).
    grafana_admin_password: SecretStr | None = Field(default=None, min_length=16)
    alerting: AlertingConfig = _section()

    @field_validator("grafana")
    @classmethod
    def _grafana_reads_prometheus(cls, value: bool, info: ValidationInfo) -> bool:
        if value and info.data.get("enabled") is False:
            raise PydanticCustomError(
                "grafana", "needs enabled: true (its dashboards read Prometheus); set grafana: false too", {}
            )
        return value


Quantity = Annotated[
    str,
    _matching(
        r"[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?",
        "a Kubernetes quantity such as 16, 500m or 64Gi",
    ),
]


class AdmissionConfig(_Model):
    """Gatekeeper, running the pack's Kubernetes rules on everything the cluster admits (README: Admission)."""

    enabled: bool = True
    enforcement: AdmissionEnforcement = AdmissionEnforcement.DENY  # dev stacks may choose dryrun or warn


ModelPath = Annotated[
    str,
    _matching(
        r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}",
        "a folder name under models/ in the data bucket, such as qwen2.5-0.5b-instruct",
    ),
]


class ServiceConfig(_Model):
    """A model served by vLLM on one GPU pool, in its team's namespace (README: Serving a model)."""

    name: DnsLabel
    model: ModelPath  # the weights: s3://<data bucket>/models/<model>/, in Hugging Face layout
    pool: DnsLabel
    resource: str | None = None  # default: what the pool advertises, where it advertises one GPU resource
    team: DnsLabel | None = None  # its namespace; default: the platform's `inference` namespace
    replicas: Annotated[int, _between(1, 100)] = 1
    # Autoscaling on vLLM's load: up to max_replicas, as many pods as keep at most waiting_requests_per_replica
    # requests queued and running_requests_per_replica in the running batch per pod (README: Serving a model).
    # None: always `replicas`.
    max_replicas: Annotated[int, _between(1, 100)] | None = None
    waiting_requests_per_replica: Annotated[int, _between(1, 1000)] = 2
    running_requests_per_replica: Annotated[int, _between(1, 10000)] = 16

    @property
    def autoscaled(self) -> bool:
        return self.max_replicas is not None and self.max_replicas > self.replicas

    @property
    def most_replicas(self) -> int:
        return max(self.replicas, self.max_replicas or 0)

    @property
    def most_replicas_field(self) -> str:
        """The config key that sets `most_replicas`, for error messages."""
        return "maxReplicas" if self.autoscaled else "replicas"

    def gpu_resource(self, pool: GpuPoolConfig) -> str | None:
        """The GPU resource each replica asks one of: the chosen one, else the pool's only one."""
        if self.resource is not None:
            return self.resource
        from gpu_platform.components import sharing

        offered = sorted(r for r in sharing.advertised(pool) if r.startswith("nvidia.com/"))
        return offered[0] if len(offered) == 1 else None


class TeamQuota(_Model):
    """What a team's namespace may hold at once (a ResourceQuota). `gpus`: resource name -> count, of the
    resources the team's pools advertise (`nvidia.com/gpu`, `nvidia.com/mig-<profile>`)."""

    gpus: dict[str, Annotated[int, _between(0, 10000)]] = Field(default_factory=dict)
    cpu: Quantity = "16"
    memory: Quantity = "64Gi"
    pods: Annotated[int, _between(1, 10000)] = 50


class TeamConfig(_Model):
    """A team: its namespace, who pays for it, the GPU pools it may use, its quota and its members."""

    name: DnsLabel
    cost_center: LabelValue | None = None  # default: the stack's labels.costCenter
    product: LabelValue | None = None  # default: the stack's labels.product
    gpu_pools: tuple[DnsLabel, ...] = ()
    quota: TeamQuota = _section()
    member_role_arns: tuple[RoleArn, ...] = ()


class PlatformConfig(_Model):
    """Everything one stack of the platform is built from."""

    environment: Environment
    region: Region
    labels: CostLabels
    network: NetworkConfig = _section()
    cluster: ClusterConfig = _section()
    gpu_pools: tuple[GpuPoolConfig, ...] = ()
    storage: StorageConfig = _section()
    observability: ObservabilityConfig = _section()
    teams: tuple[TeamConfig, ...] = ()
    admission: AdmissionConfig = _section()
    services: tuple[ServiceConfig, ...] = ()

    @model_validator(mode="after")
    def _teams_fit_the_platform(self) -> Self:
        """Each team's pools exist, its GPU quota names what they advertise, its members are not admins."""
        from gpu_platform.components import sharing  # sharing reads GpuPoolConfig: imported when needed

        pools = {p.name: p for p in self.gpu_pools}
        admins = set(self.cluster.admin_role_arns)
        problems: list[str] = []
        repeated = _repeated([t.name for t in self.teams])
        if repeated:
            problems.append(f"-.teams: team names must be unique ({', '.join(repeated)} repeated)")
        for i, team in enumerate(self.teams):
            if team.name in RESERVED_NAMESPACES:
                problems.append(
                    f"{i}.name: {team.name} is a namespace Kubernetes or the platform owns "
                    f"({', '.join(RESERVED_NAMESPACES)}); name the team otherwise"
                )
            unknown = [p for p in team.gpu_pools if p not in pools]
            if unknown:
                problems.append(
                    f"{i}.gpuPools: {', '.join(unknown)} is no GPU pool of this stack; pools: "
                    f"{', '.join(pools) or 'none'}"
                )
            offered = {r for p in team.gpu_pools if p in pools for r in sharing.advertised(pools[p])}
            for resource in team.quota.gpus:
                if resource not in offered:
                    problems.append(
                        f"{i}.quota.gpus: {resource} is advertised by none of the team's pools "
                        f"({', '.join(sorted(offered)) or 'the team has no GPU pool'})"
                    )
            both = sorted(admins & set(team.member_role_arns))
            if both:
                problems.append(
                    f"{i}.memberRoleArns: {', '.join(both)} is also in cluster.adminRoleArns; an IAM role has one "
                    "access entry per cluster: keep it in one list"
                )
        if problems:
            raise PydanticCustomError("team_problems", "{problems}", {"problems": "\n".join(problems)})
        return self

    @model_validator(mode="after")
    def _services_fit_the_platform(self) -> Self:
        """Each service's pool exists, advertises its resource and is one its team may use; together, at their
        most replicas, the services on a pool fit it at maxSize and a team's services fit its quota."""
        from gpu_platform.components import sharing
        from gpu_platform.components.inference import SERVER_REQUESTS

        pools = {p.name: p for p in self.gpu_pools}
        teams = {t.name: t for t in self.teams}
        problems: list[str] = []
        taken = _repeated([f"{s.team or 'inference'}/{s.name}" for s in self.services])
        if taken:
            problems.append(f"-.services: service names must be unique in a namespace ({', '.join(taken)} repeated)")
        on_pool: dict[tuple[str, str], list[tuple[int, ServiceConfig]]] = {}
        of_team: dict[tuple[str, str], list[tuple[int, ServiceConfig]]] = {}
        for i, service in enumerate(self.services):
            pool = pools.get(service.pool)
            if pool is None:
                problems.append(
                    f"{i}.pool: service {service.name}: {service.pool} is no GPU pool of this stack; pools: {', '.join(pools) or 'none'}"
                )
                continue
            offered = {r for r in sharing.advertised(pool) if r.startswith("nvidia.com/")}
            resource = service.gpu_resource(pool)
            if resource is None or resource not in offered:
                choose = "name one" if service.resource is None else "choose one it advertises"
                problems.append(
                    f"{i}.resource: service {service.name}: pool {pool.name} advertises {', '.join(sorted(offered))}; {choose}"
                )
            else:
                on_pool.setdefault((pool.name, resource), []).append((i, service))
            if service.max_replicas is not None and service.max_replicas < service.replicas:
                problems.append(
                    f"{i}.maxReplicas: service {service.name}: {service.max_replicas} is fewer than its {service.replicas} "
                    "replicas; raise it, or remove it to run a fixed number"
                )
            if service.autoscaled and not self.observability.enabled:
                problems.append(
                    f"{i}.maxReplicas: service {service.name} scales on vLLM's queue, which only Prometheus collects; "
                    "set observability.enabled: true, or remove maxReplicas"
                )
            if service.team is not None:
                team = teams.get(service.team)
                if team is None:
                    problems.append(
                        f"{i}.team: service {service.name}: {service.team} is no team of this stack; teams: {', '.join(teams) or 'none'}"
                    )
                elif service.pool not in team.gpu_pools:
                    problems.append(
                        f"{i}.pool: service {service.name}: team {team.name} may not use {service.pool} (its gpuPools: "
                        f"{', '.join(team.gpu_pools) or 'none'})"
                    )
                elif resource in offered:
                    of_team.setdefault((team.name, resource), []).append((i, service))
        for (name, resource), placed in on_pool.items():
            pool = pools[name]
            holds = sharing.advertised(pool)[resource] * pool.size.max_size
            problems += _exceeds(
                placed, 1, holds, f"x {resource}", f"pool {name} holds {{limit}} at maxSize {pool.size.max_size}"
            )
        # A team's ResourceQuota names every advertised resource (0 where it sets none) and caps its requests.
        for (name, resource), placed in of_team.items():
            quota = teams[name].quota
            limit = f"team {name}'s quota allows {{limit}} (teams[{name}].quota.gpus)"
            problems += _exceeds(placed, 1, quota.gpus.get(resource, 0), f"x {resource}", limit)
        for name in sorted({team for team, _ in of_team}):
            placed = sorted(
                (p for (team, _), group in of_team.items() if team == name for p in group), key=lambda p: p[0]
            )
            quota = teams[name].quota
            for key, per_pod, allowed in (
                ("cpu", SERVER_REQUESTS["cpu"], quota.cpu),
                ("memory", SERVER_REQUESTS["memory"], quota.memory),
                ("pods", "1", str(quota.pods)),
            ):
                limit = f"team {name}'s quota allows {{limit}} (teams[{name}].quota.{key})"
                problems += _exceeds(placed, quantity(per_pod), quantity(allowed), key, limit)
        if problems:
            raise PydanticCustomError("service_problems", "{problems}", {"problems": "\n".join(problems)})
        return self

    @field_validator("cluster")
    @classmethod
    def _no_open_endpoint_in_prod(cls, cluster: ClusterConfig, info: ValidationInfo) -> ClusterConfig:
        if info.data.get("environment") == Environment.PROD and "0.0.0.0/0" in cluster.public_access_cidrs:
            raise PydanticCustomError(
                "field:publicAccessCidrs", "0.0.0.0/0 opens the prod API endpoint to the internet; list your CIDRs", {}
            )
        return cluster

    @field_validator("gpu_pools")
    @classmethod
    def _unique_pool_names(cls, pools: tuple[GpuPoolConfig, ...]) -> tuple[GpuPoolConfig, ...]:
        repeated = _repeated([p.name for p in pools])
        if repeated:
            raise PydanticCustomError(
                "unique", "pool names must be unique ({names} repeated)", {"names": ", ".join(repeated)}
            )
        return pools


# --- parsing and error reporting -------------------------------------------

_MESSAGES = {
    "missing": "is required",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_type": "must be a whole number",
    "bool_parsing": "must be true or false",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be an object of keys and values",
    "model_type": "must be an object of keys and values",
    "model_attributes_type": "must be an object of keys and values",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
}


def load_platform_config(
    raw: Any, project: str, stack: str | None, today: datetime.date | None = None
) -> PlatformConfig:
    """Validate the raw `platform` object of a stack, or raise ConfigError.

    The project and stack name the stack's buckets, so their names are checked here too; with
    no stack (a config built before its stack is chosen) that check waits for the stack. `today`
    (default: the UTC date) decides which Kubernetes versions are still in EKS standard support.
    """
    if raw is None:
        raise ConfigError(
            [f"{CONFIG_KEY}: is required; set `{project}:{CONFIG_KEY}` in Pulumi.{stack or '<stack>'}.yaml"]
        )
    region = raw.get("region") if isinstance(raw, dict) else None
    context = {
        "project": project,
        **({"stack": stack} if stack is not None else {}),
        "today": today or _utc_today(),
        "region": region if isinstance(region, str) and region in regions.REGIONS else None,
    }
    try:
        return PlatformConfig.model_validate(raw, context=context)
    except ValidationError as err:
        problems = [_pool_by_name(line, raw) for e in err.errors(include_url=False) for line in _describe(dict(e))]
        raise ConfigError(sorted(dict.fromkeys(problems))) from None


# Values the README says to set with `pulumi config set --secret --path 'platform.<path>'`.
SECRET_PATHS = (
    "observability.alerting.slackWebhookUrl",
    "observability.alerting.pagerdutyRoutingKey",
    "observability.alerting.deadMansSwitchUrl",
    "observability.grafanaAdminPassword",
)


def secrets_set(raw: Any) -> list[str]:
    """The SECRET_PATHS a raw `platform` object sets."""
    found = []
    for path in SECRET_PATHS:
        node: Any = raw
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            found.append(path)
    return found


def stack_key_problems(values: dict[str, Any], secret_keys: set[str], project: str) -> list[str]:
    """What is wrong with the stack's config keys around `platform`: keys of this project the program
    never reads, an `aws:region` other than platform.region, secrets written in plain text."""
    problems = []
    own = f"{project}:{CONFIG_KEY}"
    for key in sorted(k for k in values if k.startswith(f"{project}:") and k != own):
        near = difflib.get_close_matches(key.split(":", 1)[1], [CONFIG_KEY], n=1, cutoff=0.6)
        hint = f"did you mean {CONFIG_KEY}? " if near else ""
        problems.append(
            f"{key}: is not a config key of this project; {hint}every setting goes under {own} "
            "(the README lists its keys)"
        )
    raw = values.get(own)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = None
    if not isinstance(raw, dict):
        return problems
    region, aws_region = raw.get("region"), values.get("aws:region")
    if aws_region and isinstance(region, str) and aws_region != region:
        problems.append(
            f"aws:region: is {aws_region} but {CONFIG_KEY}.region is {region}; the platform builds "
            f"in {CONFIG_KEY}.region: set aws:region to {region} or remove it"
        )
    if own not in secret_keys:
        for path in secrets_set(raw):
            problems.append(
                f"{CONFIG_KEY}.{path}: is in plain text in the stack file; make it a secret with "
                f"`pulumi config set --secret --path '{CONFIG_KEY}.{path}' <value>`"
            )
    return problems


def read_stack_config() -> PlatformConfig:
    """The PlatformConfig of the running stack, from the stack's config as the CLI hands it over."""
    from pulumi.runtime import config as runtime_config

    project = pulumi.get_project()
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = {k for k in values if runtime_config.is_config_secret(k)}
    key_problems = stack_key_problems(values, secret_keys | set(runtime_config.get_config_secret_keys_env()), project)
    try:
        raw = pulumi.Config().get_object(CONFIG_KEY)
    except pulumi.ConfigTypeError:
        raise ConfigError([f"{CONFIG_KEY}: must be an object of keys and values", *key_problems]) from None
    try:
        platform = load_platform_config(raw, project, pulumi.get_stack())
    except ConfigError as err:
        raise ConfigError([*err.problems, *key_problems]) from None
    if key_problems:
        raise ConfigError(key_problems)
    return platform


def _pool_by_name(problem: str, raw: Any) -> str:
    """`platform.gpuPools[3].sharing` -> `platform.gpuPools[h100-mig].sharing`, and teams alike: they have
    names, users know them; the index stays where the entry has no usable, unique name."""

    def name(match: re.Match[str]) -> str:
        key, index = match.group(1), int(match.group(2))
        entries = raw.get(key) if isinstance(raw, dict) else None
        names = [e.get("name") if isinstance(e, dict) else None for e in entries] if isinstance(entries, list) else []
        found = names[index] if index < len(names) else None
        usable = isinstance(found, str) and re.fullmatch(_DNS_LABEL, found) and names.count(found) == 1
        return f"{CONFIG_KEY}.{key}[{found if usable else index}]"

    return re.sub(rf"{CONFIG_KEY}\.(gpuPools|teams)\[(\d+)\]", name, problem)


def _path(loc: tuple[str | int, ...], user_typed_last: bool = False) -> str:
    """`platform.gpuPools[1].sharing`: the path as written in YAML (defaults report Python names)."""
    text = CONFIG_KEY
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += "." + (part if user_typed_last and i == len(loc) - 1 else to_camel(part))
    return text


def _describe(error: dict[str, Any]) -> list[str]:
    """Problem lines of one pydantic error; a parent's check of several keys gives a line per key."""
    lists = {"team_problems": "teams", "service_problems": "services"}
    if error["type"] in lists:  # "<index>.<key.path>: why", or "-.<key>" for the whole list
        found = []
        for line in error["ctx"]["problems"].split("\n"):
            where, why = line.split(": ", 1)
            index, _, key = where.partition(".")
            loc: tuple[str | int, ...] = (key,) if index == "-" else (lists[error["type"]], int(index), *key.split("."))
            found.append(f"{_path(loc, user_typed_last=True)}: {why}")
        return found
    if error["type"] == "pool_problems":
        lines = error["ctx"]["problems"].split("\n")
        return [f"{_path((*error['loc'], key))}: {why}" for key, why in (line.split(": ", 1) for line in lines)]
    return [_describe_one(error)]


def _describe_one(error: dict[str, Any]) -> str:
    kind, loc, value = error["type"], error["loc"], error.get("input")
    if kind.startswith("field:"):  # a check made by the parent, about one key of this section
        loc = (*loc, kind.split(":", 1)[1])
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        did_you_mean = f"did you mean {hint[0]}? " if hint else ""
        return f"{_path(loc, user_typed_last=True)}: is not a known key; {did_you_mean}allowed: {', '.join(allowed)}"
    if kind == "enum":
        return f"{_path(loc)}: must be one of {error['ctx']['expected'].replace(chr(39), '')} (got {value!r})"
    if kind in ("too_short", "too_long", "string_too_short") and "min_length" in error.get("ctx", {}):
        if isinstance(value, str):  # never echo the value: it may be a secret
            return f"{_path(loc)}: must be at least {error['ctx']['min_length']} characters"
        return f"{_path(loc)}: must list at least {error['ctx']['min_length']} item(s)"
    if kind in _MESSAGES:
        got = "" if kind == "missing" else f" (got {value!r})"
        return f"{_path(loc)}: {_MESSAGES[kind]}{got}"
    return f"{_path(loc)}: {error['msg']}"


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The camelCase keys of the model found at `loc`, for 'did you mean' hints."""
    model: Any = PlatformConfig
    for part in loc:
        if isinstance(part, int):
            model = _item_type(model)
            continue
        fields = {f.alias or name: f for name, f in model.model_fields.items()}
        model = _model_in(fields[part].annotation) if part in fields else None
        if model is None:
            return []
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(f.alias or name for name, f in model.model_fields.items())
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (tuple, list, Union, types.UnionType, Annotated):
        return annotation
    return None


def _item_type(annotation: Any) -> Any:
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None
