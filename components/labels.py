"""Cost labels from one place: the same keys become AWS tags and Kubernetes labels.

Cost dashboards join AWS billing (tags) with Kubernetes usage (labels), so both
must carry the same keys with the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpu_platform.components.config import PlatformConfig, WorkloadType
from gpu_platform.components.node_labels import WORKLOAD_LABEL as WORKLOAD_TYPE

COST_CENTER = "cost-center"
PRODUCT = "product"
ENVIRONMENT = "environment"
COST_KEYS = (COST_CENTER, PRODUCT, ENVIRONMENT)


@dataclass(frozen=True)
class CostLabels:
    """Who pays for a resource, as one value shared by every component."""

    cost_center: str
    product: str
    environment: str

    @classmethod
    def of(cls, config: PlatformConfig) -> CostLabels:
        return cls(config.labels.cost_center, config.labels.product, config.environment.value)

    def base(self) -> dict[str, str]:
        return {COST_CENTER: self.cost_center, PRODUCT: self.product, ENVIRONMENT: self.environment}

    def aws_tags(
        self, name: str, workload_type: WorkloadType | None = None, extra: dict[str, str] | None = None
    ) -> dict[str, str]:
        """Tags for one AWS resource: the cost keys, its `Name`, and any extras."""
        tags = {**self.base(), "Name": name, **(extra or {})}
        if workload_type is not None:
            tags[WORKLOAD_TYPE] = workload_type.value
        return tags

    def k8s_labels(self, workload_type: WorkloadType) -> dict[str, str]:
        """Labels for a Kubernetes workload's pod template."""
        return {**self.base(), WORKLOAD_TYPE: workload_type.value}
