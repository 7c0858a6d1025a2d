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
