"""GpuPool: a managed node group of one GPU model, shared the way its workloads need.

MIG pools turn MIG mode on before kubelet starts, on every boot (node_scripts/mig-mode.sh), and a
node that cannot enter MIG mode powers off; the GPU Operator's MIG manager then only lays out
instances. A layout change never restarts kubelet, but a mode change does, and on EKS AL2023 that
restart was seen to corrupt containerd's cgroup state and leave the node NotReady
(NVIDIA/mig-parted#368, NVIDIA/gpu-operator#2415).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pulumi
import pulumi_aws as aws
from gpu_platform.components import sharing
from gpu_platform.components.cluster import Cluster
from gpu_platform.components.config import CapacityType, GpuPoolConfig, SharingMode
from gpu_platform.components.labels import CostLabels
from gpu_platform.components.node_group import NodeGroupArgs, SizeOwner, autoscaling_group_name, managed_node_group
from gpu_platform.components.node_template import EfaInterfaces, NodeTemplateArgs, node_launch_template

NODE_SCRIPTS = Path(__file__).parent / "node_scripts"
MIG_MODE_SCRIPT = "/usr/local/sbin/gpu-platform-mig-mode"
MIG_MODE_UNIT = "/etc/systemd/system/gpu-platform-mig-mode.service"
KUBELET_DROP_IN = "/etc/systemd/system/kubelet.service.d/10-gpu-platform-mig-mode.conf"


def mig_mode_user_data() -> str:
    """The user-data script of MIG pools: install the MIG mode check as a unit that runs before kubelet on
    every boot and that kubelet cannot start without, then start it now. cloud-init runs user-data scripts
    once per instance, in cloud-final, which nodeadm-run (and so kubelet) waits for (cloud-init
    cc_scripts_user: PER_INSTANCE); the unit is not ordered after cloud-final, so starting it here cannot
    deadlock, and it runs with its own ordering after the driver."""
    files = (
        (MIG_MODE_SCRIPT, "mig-mode.sh"),
        (MIG_MODE_UNIT, "mig-mode.service"),
        (KUBELET_DROP_IN, "kubelet-requires-mig-mode.conf"),
    )
    written = "".join(
        f"cat > {path} <<'GPU_PLATFORM_EOF'\n{(NODE_SCRIPTS / source).read_text()}GPU_PLATFORM_EOF\n"
        for path, source in files
    )
    return (
        "#!/bin/bash\n"
        "# gpu-platform: install the MIG mode check that runs before kubelet on every boot; run it now.\n"
        f"mkdir -p {KUBELET_DROP_IN.rsplit('/', 1)[0]}\n"
        f"{written}"
        f"chmod 0755 {MIG_MODE_SCRIPT}\n"
        "systemctl daemon-reload\n"
        "systemctl enable gpu-platform-mig-mode.service\n"
        "systemctl start gpu-platform-mig-mode.service\n"
    )


class GpuPool(pulumi.ComponentResource):
    """One managed node group of GPU nodes, tainted so only pods that ask for it land there."""

    config: GpuPoolConfig
    advertised: dict[str, int]  # what the scheduler sees per node
    placement: dict  # nodeSelector and tolerations a pod needs
    node_group: aws.eks.NodeGroup
    size_owner: SizeOwner

    def __init__(
        self,
        name: str,
        pool: GpuPoolConfig,
        cluster: Cluster,
        subnet_ids: pulumi.Input[list[str]],
        labels: CostLabels,
        autoscaled: bool,
        configs: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:GpuPool", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.config = pool
        self.advertised = sharing.advertised(pool)
        self.placement = sharing.pod_placement(pool)
        tags = labels.aws_tags(name, pool.workload_type)
        capacity_block = pool.capacity_type == CapacityType.CAPACITY_BLOCK
        # The autoscaler never grows a Capacity Block: outside the reservation no instance can launch.
        self.size_owner = (
            SizeOwner.RESERVATION if capacity_block else SizeOwner.AUTOSCALER if autoscaled else SizeOwner.CONFIG
        )

        efa = None
        if pool.efa:
            # A Capacity Block's instances already sit close together (EC2 user guide, "Capacity Blocks"):
            # no placement group there. Elsewhere a cluster placement group, which lives in one AZ.
            placement = (
                None
                if capacity_block
                else aws.ec2.PlacementGroup(
                    name, strategy=aws.ec2.PlacementStrategy.CLUSTER, tags=tags, opts=child
                ).name
            )
            efa = EfaInterfaces(
                pool.efa_interfaces, [cluster.security_group_id, cluster.efa_security_group(name, tags).id], placement
            )
        template = node_launch_template(
            name,
            NodeTemplateArgs(
                ami_type=pool.ami_type.value,
                disk_size_gib=pool.disk_size_gib,
                tags=tags,
                shell_script=mig_mode_user_data() if pool.sharing.mode == SharingMode.MIG else None,
                capacity_reservation_id=pool.capacity_reservation_id,
                instance_type=pool.instance_types[0] if capacity_block else None,
                efa=efa,
            ),
            opts=child,
        )
        self.node_group = managed_node_group(
            name,
            NodeGroupArgs(
                cluster_name=cluster.cluster_name,
                kubernetes_version=cluster.kubernetes_version,
                node_role_arn=cluster.node_role.arn,
                subnet_ids=subnet_ids,
                instance_types=None if capacity_block else pool.instance_types,
                ami_type=pool.ami_type.value,
                capacity_type=pool.capacity_type.value,
                size=pool.size,
                size_owner=self.size_owner,
                labels=sharing.node_labels(pool),
                taints=[sharing.taint(pool)],
                tags={**tags, sharing.ADVERTISED_TAG: sharing.advertised_tag(pool)},
            ),
            template,
            # EKS applies changed labels to the running nodes (EKS user guide, managed node groups: "apply
            # Kubernetes labels to nodes and update them at any time"), so a new entry name reaches them;
            # it must exist in the ConfigMaps first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*cluster.node_group_prerequisites, *configs]),
        )
        if pool.capacity_block_start is not None:
            # EC2 Auto Scaling user guide, "Capacity Blocks": scheduled scaling launches the reserved instances
            # when the reservation begins; EKS's own scheduled action scales back to 0 before it ends.
            aws.autoscaling.Schedule(
                f"{name}-reservation-start",
                scheduled_action_name=f"{name}-reservation-start",
                autoscaling_group_name=autoscaling_group_name(self.node_group),
                start_time=pool.capacity_block_start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                min_size=0,
                desired_capacity=pool.size.desired_size,
                max_size=pool.size.max_size,
                opts=child,
            )
        self.register_outputs({"advertised": self.advertised, "placement": self.placement})
