"""Platform: the one composition root, built from a validated PlatformConfig.

`__main__.py` and inline Automation API programs both build this, so a stack
is the same whichever way it is run.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.config import PlatformConfig
from components.labels import CostLabels
from components.network import Network
from components.storage import Storage


class Platform(pulumi.ComponentResource):
    """A GPU inference platform: network, cluster, GPU pools, storage, observability."""

    network: Network
    storage: Storage

    def __init__(self, name: str, config: PlatformConfig,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-platform:index:Platform", name, None, opts)
        labels = CostLabels.of(config)
        # Every AWS resource below uses this provider: one region, and cost tags by default.
        aws_provider = aws.Provider(
            f"{name}-aws", region=config.region,
            default_tags=aws.ProviderDefaultTagsArgs(tags=labels.base()),
            opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, providers={"aws": aws_provider})

        self.network = Network(f"{name}-network", config.network, config.region, labels, opts=child)
        self.storage = Storage(f"{name}-storage", config.storage, config.region, labels, opts=child)
        self.register_outputs(self.outputs())

    def outputs(self) -> dict[str, pulumi.Output]:
        """The stack outputs other services read (camelCase, as `pulumi stack output` shows them)."""
        return {
            "vpcId": self.network.vpc_id,
            "privateSubnetIds": self.network.private_subnet_ids,
            "publicSubnetIds": self.network.public_subnet_ids,
            "availabilityZones": self.network.availability_zones,
            "bucketName": self.storage.bucket_name,
            "logBucketName": self.storage.log_bucket_name,
        }
