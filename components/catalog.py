"""Facts the platform depends on: Kubernetes versions EKS runs, GPU instance types.

Every fact carries its source; components and config validation read them from
here, never from literals of their own; tests/facts/gpu-facts.md holds the facts the tests check them against.
"""

from __future__ import annotations

import datetime
import itertools
from dataclasses import dataclass

from gpu_platform.policies.cost import price_table as _price_table

# --- Kubernetes versions on EKS --------------------------------------------------


@dataclass(frozen=True)
class EksRelease:
    """One Kubernetes minor on EKS: when it came, when standard and extended support end (UTC days)."""

    minor: str
    released: datetime.date
    end_of_standard: datetime.date
    end_of_extended: datetime.date
    source: str

    def in_standard_support(self, today: datetime.date) -> bool:
        """Billing at extended rates starts on the day standard support ends (UTC)."""
        return today < self.end_of_standard

    def supported(self, today: datetime.date) -> bool:
        """After extended support EKS upgrades the control plane itself."""
        return today < self.end_of_extended


_EKS_CALENDAR = (
    "awsdocs/amazon-eks-user-guide latest/ug/versioning/kubernetes-versions.adoc @ 01385604 "
    "(docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, release calendar)"
)
_EKS_CALENDAR_SECONDARY = (
    "endoflife.date/amazon-eks and aws-samples sample-apex-skills cluster-lifecycle "
    "(verified 2026-04-24); the AWS calendar row itself could not be read here"
)
_D = datetime.date
# The platform supports the minors that also have a Cluster Autoscaler release chart (below).
EKS_RELEASES: dict[str, EksRelease] = {
    r.minor: r
    for r in (
        EksRelease("1.32", _D(2025, 1, 23), _D(2026, 3, 23), _D(2027, 3, 23), _EKS_CALENDAR),
        EksRelease("1.33", _D(2025, 5, 29), _D(2026, 7, 29), _D(2027, 7, 29), _EKS_CALENDAR),
        EksRelease("1.34", _D(2025, 10, 2), _D(2026, 12, 2), _D(2027, 12, 2), _EKS_CALENDAR),
        EksRelease("1.35", _D(2026, 1, 27), _D(2027, 3, 27), _D(2028, 3, 27), _EKS_CALENDAR_SECONDARY),
    )
}
EKS_KUBERNETES_VERSIONS: tuple[str, ...] = tuple(EKS_RELEASES)
# Every minor in the EKS calendar: those above, and older ones EKS still offers (or offered) in extended
# support that the platform does not build on. The offline AWS rules refuse a cluster only past both.
EKS_CALENDAR: dict[str, EksRelease] = {
    **{
        r.minor: r
        for r in (
            EksRelease("1.29", _D(2024, 1, 23), _D(2025, 3, 23), _D(2026, 3, 23), _EKS_CALENDAR),
            EksRelease("1.30", _D(2024, 5, 23), _D(2025, 7, 23), _D(2026, 7, 23), _EKS_CALENDAR),
            EksRelease("1.31", _D(2024, 9, 26), _D(2025, 11, 26), _D(2026, 11, 26), _EKS_CALENDAR),
        )
    },
    **EKS_RELEASES,
}
DEFAULT_KUBERNETES_VERSION = "1.35"


def eks_control_plane_usd_per_hour() -> tuple[float, float]:
    """A cluster-hour of the control plane in standard and in extended support, from the price table
    (policies/prices.json cites them; the same in every Region AWS names)."""
    table = _price_table()
    standard, extended = (
        table.service(item, "us-east-1") for item in ("eks-cluster-hour", "eks-cluster-extended-hour")
    )
    if standard is None or extended is None:
        raise LookupError("policies/prices.json has no EKS control-plane price (eks-cluster-hour, ...-extended-hour)")
    return standard.usd, extended.usd


@dataclass(frozen=True)
class AutoscalerRelease:
    """The Cluster Autoscaler for one Kubernetes minor: the chart whose appVersion is that minor, the
    latest patch image of that minor (the chart's default image may lag, so the tag is always set)."""

    chart_version: str
    image_tag: str


# kubernetes/autoscaler git tags cluster-autoscaler-chart-* (Chart.yaml appVersion) and cluster-autoscaler-1.x.y.
# Chart 9.46.3 added volumeattachments to the ClusterRole (kubernetes/autoscaler#7663, PR #7904); 9.54.0 added
# resource.k8s.io, which 1.35 needs (its --enable-dynamic-resource-allocation is locked to true).
CLUSTER_AUTOSCALER: dict[str, AutoscalerRelease] = {
    "1.32": AutoscalerRelease("9.46.6", "v1.32.7"),
    "1.33": AutoscalerRelease("9.51.0", "v1.33.6"),
    "1.34": AutoscalerRelease("9.53.0", "v1.34.5"),
    "1.35": AutoscalerRelease("9.59.0", "v1.35.2"),
}

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy API).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


@dataclass(frozen=True)
class Gpu:
    """One GPU model: its name as NVIDIA writes it, its memory, and its value of the autoscaler's GPU label."""

    model: str
    memory_gb: int
    mig: bool
    accelerator: str


# The Cluster Autoscaler's AWS GPU label (cloudprovider/aws/aws_cloud_provider.go GPULabel). A node that carries
# it but advertises no GPU yet counts as starting (processors/customresources/gpu_processor.go), so the
# autoscaler does not scale out again while the device plugin starts. Values follow its availableGPUTypes
# (nvidia-tesla-a100, nvidia-a10g, nvidia-l4, nvidia-l40s); H100 and H200 are not listed there, and any value works.
A100_40GB = Gpu("A100 40GB", 40, mig=True, accelerator="nvidia-tesla-a100")
A100_80GB = Gpu("A100 80GB", 80, mig=True, accelerator="nvidia-tesla-a100")
H100_80GB = Gpu("H100 80GB", 80, mig=True, accelerator="nvidia-h100")
H200_141GB = Gpu("H200 141GB", 141, mig=True, accelerator="nvidia-h200")
A10G = Gpu("A10G", 24, mig=False, accelerator="nvidia-a10g")
L4 = Gpu("L4", 24, mig=False, accelerator="nvidia-l4")
L40S = Gpu("L40S", 48, mig=False, accelerator="nvidia-l40s")


@dataclass(frozen=True)
class GpuInstance:
    """An EC2 instance type with GPUs: how many, of which model, its EFA interfaces (one per network card;
    0 without EFA) and whether it is sold as a Capacity Block for ML."""

    instance_type: str
    gpu: Gpu
    gpu_count: int
    efa_interfaces: int = 0
    capacity_block: bool = False


# AWS EC2 accelerated-computing instance pages (p4, p5, g5, g6, g6e). EFA: the types of the EFA device plugin
# chart's supportedInstanceLabels (aws/eks-charts stable/aws-efa-k8s-device-plugin/values.yaml, which cites the
# EC2 guide's EFA instance list), one EFA per network card (EC2 guide, "EFA limitations"); network cards from
# aws/amazon-vpc-cni-k8s pkg/vpc/vpc_ip_resource_limit.go. Sizes below 8xlarge of g5, g6 and g6e have no EFA.
# Capacity Blocks for ML (EC2 user guide, ec2-capacity-blocks.html): p5, p5e, p5en and p4d among the GPU types
# here; p4de could not be confirmed, so it is not offered. Written out row by row, as data: tests/facts holds
# the same facts with their sources, and the tests compare the two.
GPU_INSTANCES: dict[str, GpuInstance] = {
    row.instance_type: row
    for row in (
        # type, GPU, GPUs, EFA interfaces, sold as Capacity Blocks
        GpuInstance("p4d.24xlarge", A100_40GB, 8, 4, True),
        GpuInstance("p4de.24xlarge", A100_80GB, 8, 4, False),
        GpuInstance("p5.48xlarge", H100_80GB, 8, 32, True),
        GpuInstance("p5e.48xlarge", H200_141GB, 8, 32, True),
        GpuInstance("p5en.48xlarge", H200_141GB, 8, 16, True),
        GpuInstance("g5.xlarge", A10G, 1, 0, False),
        GpuInstance("g5.2xlarge", A10G, 1, 0, False),
        GpuInstance("g5.4xlarge", A10G, 1, 0, False),
        GpuInstance("g5.8xlarge", A10G, 1, 1, False),
        GpuInstance("g5.16xlarge", A10G, 1, 1, False),
        GpuInstance("g5.12xlarge", A10G, 4, 1, False),
        GpuInstance("g5.24xlarge", A10G, 4, 1, False),
        GpuInstance("g5.48xlarge", A10G, 8, 1, False),
        GpuInstance("g6.xlarge", L4, 1, 0, False),
        GpuInstance("g6.2xlarge", L4, 1, 0, False),
        GpuInstance("g6.4xlarge", L4, 1, 0, False),
        GpuInstance("g6.8xlarge", L4, 1, 1, False),
        GpuInstance("g6.16xlarge", L4, 1, 1, False),
        GpuInstance("g6.12xlarge", L4, 4, 1, False),
        GpuInstance("g6.24xlarge", L4, 4, 1, False),
        GpuInstance("g6.48xlarge", L4, 8, 1, False),
        GpuInstance("g6e.xlarge", L40S, 1, 0, False),
        GpuInstance("g6e.2xlarge", L40S, 1, 0, False),
        GpuInstance("g6e.4xlarge", L40S, 1, 0, False),
        GpuInstance("g6e.8xlarge", L40S, 1, 1, False),
        GpuInstance("g6e.16xlarge", L40S, 1, 1, False),
        GpuInstance("g6e.12xlarge", L40S, 4, 1, False),
        GpuInstance("g6e.24xlarge", L40S, 4, 2, False),
        GpuInstance("g6e.48xlarge", L40S, 8, 4, False),
    )
}
CAPACITY_BLOCK_TYPES: tuple[str, ...] = tuple(t for t, i in GPU_INSTANCES.items() if i.capacity_block)
EFA_TYPES: tuple[str, ...] = tuple(t for t, i in GPU_INSTANCES.items() if i.efa_interfaces)


# --- MIG (NVIDIA MIG user guide; NVIDIA/mig-parted config-default.yaml) -------

MIG_COMPUTE_SLICES = 7
MIG_MEMORY_SLICES = 8


@dataclass(frozen=True)
class MigProfile:
    """A MIG instance shape: g of 7 compute slices and m of 8 memory slices; at most `max_per_gpu`."""

    name: str
    compute: int
    memory: int
    max_per_gpu: int


# Every MIG GPU here has the same six shapes: (compute slices, memory slices, most per GPU), smallest first;
# only the memory in their names differs. Compared with tests/facts/gpu-facts.md by the tests.
_MIG_SHAPES = ((1, 1, 7), (1, 2, 4), (2, 2, 3), (3, 4, 2), (4, 4, 1), (7, 8, 1))
MIG_PROFILES: dict[str, dict[str, MigProfile]] = {
    gpu.model: {name: MigProfile(name, *shape) for name, shape in zip(names, _MIG_SHAPES, strict=True)}
    for gpu, names in (
        (A100_40GB, ("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb")),
        (A100_80GB, ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb")),
        (H200_141GB, ("1g.18gb", "1g.35gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb")),
    )
}
MIG_PROFILES[H100_80GB.model] = MIG_PROFILES[A100_80GB.model]


def mig_presets(gpu: Gpu) -> dict[str, dict[str, int]]:
    """Named layouts per GPU, as mig-parted names them: all-<profile> fills the GPU with one profile;
    all-1g/all-2g/all-3g use the smallest memory size of that compute size; all-balanced is
    2 x 1g + 1 x 2g + 1 x 3g of the smallest memory sizes."""
    profiles = MIG_PROFILES[gpu.model]
    presets = {f"all-{p.name}": {p.name: p.max_per_gpu} for p in profiles.values()}
    smallest = {}
    for p in sorted(profiles.values(), key=lambda p: p.memory):
        smallest.setdefault(p.compute, p)
    for compute in (1, 2, 3, 4, 7):
        presets[f"all-{compute}g"] = {smallest[compute].name: smallest[compute].max_per_gpu}
    presets["all-balanced"] = {smallest[1].name: 2, smallest[2].name: 1, smallest[3].name: 1}
    return presets


def slices(gpu: Gpu, layout: dict[str, int]) -> tuple[int, int]:
    """The compute and memory slices a per-GPU layout of known profiles takes."""
    profiles = MIG_PROFILES[gpu.model]
    return (
        sum(profiles[n].compute * c for n, c in layout.items()),
        sum(profiles[n].memory * c for n, c in layout.items()),
    )


def largest_fitting(gpu: Gpu, layout: dict[str, int]) -> dict[str, int]:
    """A layout the GPU can build, made from this one by dropping as few compute slices as possible (then as
    few memory slices; among equals, the first found, dropping from the layout's first profiles first)."""
    profiles = MIG_PROFILES[gpu.model]
    candidates = (
        {n: c for n, c in zip(layout, combo) if c}
        for combo in itertools.product(*(range(min(c, profiles[n].max_per_gpu) + 1) for n, c in layout.items()))
    )
    return max((c for c in candidates if within_slices(gpu, c)), key=lambda c: slices(gpu, c))


def within_slices(gpu: Gpu, layout: dict[str, int]) -> bool:
    """Whether a layout of known profiles, each at most its maximum, takes at most 7 compute and 8 memory slices.
    That is the whole check: tests/test_gpu_pools.py places every such layout in NVIDIA's table of start slots
    (`nvidia-smi mig -lgipp`), and none beyond; mig-parted tries a layout's instances in every order and the
    driver picks their slots (NVIDIA/mig-parted pkg/mig/config)."""
    compute, memory = slices(gpu, layout)
    return compute <= MIG_COMPUTE_SLICES and memory <= MIG_MEMORY_SLICES


def mig_layout_problems(gpu: Gpu, layout: dict[str, int], where: str = "") -> list[str]:
    """Why a per-GPU layout does not fit this GPU, with a layout that does; empty when it fits.
    `where` names the GPU in messages."""
    where = where or gpu.model
    if not gpu.mig:
        return [f"{where} has no MIG; share it with time-slicing"]
    profiles = MIG_PROFILES[gpu.model]
    unknown = [name for name in layout if name not in profiles]
    if unknown:
        return [f"{', '.join(unknown)} is not a MIG profile of {where}; allowed: {', '.join(profiles)}"]
    problems = [
        f"{name} fits at most {profiles[name].max_per_gpu} times on one GPU (got {count})"
        for name, count in layout.items()
        if count > profiles[name].max_per_gpu
    ]
    if not within_slices(gpu, layout):
        compute, memory = slices(gpu, layout)
        problems.append(
            f"needs {compute} of {MIG_COMPUTE_SLICES} compute and {memory} of {MIG_MEMORY_SLICES} "
            f"memory slices of one {where}"
        )
    if problems:
        smaller = largest_fitting(gpu, layout)
        if smaller:
            problems[-1] += "; a layout that fits: " + ", ".join(f"{n}: {c}" for n, c in smaller.items())
    return problems
