"""Facts the platform depends on: Kubernetes versions EKS runs, GPU instance types.

Every fact carries its source; components and config validation read them from
here, never from literals of their own. See ../shared/reference/gpu-facts.md.
"""

from __future__ import annotations

from dataclasses import dataclass

# Kubernetes minor versions with EKS standard or extended support in late 2026
# (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html).
# 1.32 is the last version with AL2 AMIs; the platform uses AL2023/Bottlerocket.
EKS_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.31", "1.32", "1.33", "1.34", "1.35")
DEFAULT_KUBERNETES_VERSION = "1.33"

# Cluster Autoscaler releases track Kubernetes minor versions; run the one of the cluster's
# (kubernetes/autoscaler releases, cluster-autoscaler-1.3x.0).
CLUSTER_AUTOSCALER_IMAGES: dict[str, str] = {v: f"v{v}.0" for v in EKS_KUBERNETES_VERSIONS}

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy API).
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)


@dataclass(frozen=True)
class Gpu:
    """One GPU model: its name as NVIDIA writes it and its memory."""

    model: str
    memory_gb: int
    mig: bool


A100_40GB = Gpu("A100 40GB", 40, mig=True)
A100_80GB = Gpu("A100 80GB", 80, mig=True)
H100_80GB = Gpu("H100 80GB", 80, mig=True)
H200_141GB = Gpu("H200 141GB", 141, mig=True)
A10G = Gpu("A10G", 24, mig=False)
L4 = Gpu("L4", 24, mig=False)
L40S = Gpu("L40S", 48, mig=False)


@dataclass(frozen=True)
class GpuInstance:
    """An EC2 instance type with GPUs: how many, and of which model."""

    instance_type: str
    gpu: Gpu
    gpu_count: int


def _family(prefix: str, gpu: Gpu, counts: dict[str, int]) -> dict[str, GpuInstance]:
    return {f"{prefix}.{size}": GpuInstance(f"{prefix}.{size}", gpu, n) for size, n in counts.items()}


_SMALL_TO_LARGE = {
    "xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1,
    "12xlarge": 4, "24xlarge": 4, "48xlarge": 8,
}

# AWS EC2 accelerated-computing instance pages (p4, p5, g5, g6, g6e).
GPU_INSTANCES: dict[str, GpuInstance] = {
    **_family("p4d", A100_40GB, {"24xlarge": 8}),
    **_family("p4de", A100_80GB, {"24xlarge": 8}),
    **_family("p5", H100_80GB, {"48xlarge": 8}),
    **_family("p5e", H200_141GB, {"48xlarge": 8}),
    **_family("p5en", H200_141GB, {"48xlarge": 8}),
    **_family("g5", A10G, _SMALL_TO_LARGE),
    **_family("g6", L4, _SMALL_TO_LARGE),
    **_family("g6e", L40S, _SMALL_TO_LARGE),
}


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


def _profiles(*rows: tuple[str, int, int, int]) -> dict[str, MigProfile]:
    return {name: MigProfile(name, g, m, n) for name, g, m, n in rows}


MIG_PROFILES: dict[str, dict[str, MigProfile]] = {
    A100_40GB.model: _profiles(("1g.5gb", 1, 1, 7), ("1g.10gb", 1, 2, 4), ("2g.10gb", 2, 2, 3),
                               ("3g.20gb", 3, 4, 2), ("4g.20gb", 4, 4, 1), ("7g.40gb", 7, 8, 1)),
    A100_80GB.model: _profiles(("1g.10gb", 1, 1, 7), ("1g.20gb", 1, 2, 4), ("2g.20gb", 2, 2, 3),
                               ("3g.40gb", 3, 4, 2), ("4g.40gb", 4, 4, 1), ("7g.80gb", 7, 8, 1)),
    H200_141GB.model: _profiles(("1g.18gb", 1, 1, 7), ("1g.35gb", 1, 2, 4), ("2g.35gb", 2, 2, 3),
                                ("3g.71gb", 3, 4, 2), ("4g.71gb", 4, 4, 1), ("7g.141gb", 7, 8, 1)),
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


def mig_layout_problems(gpu: Gpu, layout: dict[str, int], where: str = "") -> list[str]:
    """Why a per-GPU layout does not fit this GPU; empty when it does. `where` names the GPU in messages."""
    where = where or gpu.model
    if not gpu.mig:
        return [f"{where} has no MIG; share it with time-slicing"]
    profiles = MIG_PROFILES[gpu.model]
    unknown = [name for name in layout if name not in profiles]
    if unknown:
        return [f"{', '.join(unknown)} is not a MIG profile of {where}; allowed: {', '.join(profiles)}"]
    problems = [f"{name} fits at most {profiles[name].max_per_gpu} times on one GPU (got {count})"
                for name, count in layout.items() if count > profiles[name].max_per_gpu]
    compute = sum(profiles[n].compute * c for n, c in layout.items())
    memory = sum(profiles[n].memory * c for n, c in layout.items())
    if compute > MIG_COMPUTE_SLICES or memory > MIG_MEMORY_SLICES:
        problems.append(f"needs {compute} of {MIG_COMPUTE_SLICES} compute and {memory} of {MIG_MEMORY_SLICES} "
                        f"memory slices of one {where}")
    return problems
