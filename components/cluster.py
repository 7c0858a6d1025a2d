"""Cluster: a private-by-default EKS control plane, a CPU system node group, and a Kubernetes provider.

The API server always has a private endpoint and a public one only where the
config allows it; secrets are envelope-encrypted with the cluster's own KMS key;
every control-plane log type is on; access is granted with access entries (API
authentication mode), never the aws-auth ConfigMap; an OIDC provider lets pods
assume IAM roles (IRSA).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pulumi_eks as eks
import pulumi_kubernetes as k8s
from gpu_platform.components import iam, sharing
from gpu_platform.components.config import ClusterConfig
from gpu_platform.components.irsa import IrsaRole, OidcProvider, ServiceAccountBinding
from gpu_platform.components.labels import CostLabels
from gpu_platform.components.node_group import NodeGroupArgs, SizeOwner, managed_node_group
from gpu_platform.components.node_labels import SYSTEM_LABEL
from gpu_platform.components.node_template import NodeTemplateArgs, node_launch_template

CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
NODE_MANAGED_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
)
# A shell on a node through SSM Session Manager, for GPU debugging: no SSH key, no open port. Only what the
# SSM agent needs for sessions (Systems Manager user guide, "Create a custom IAM role for Session Manager"),
# not AmazonSSMManagedInstanceCore, whose ssm:GetParameter* on * would let every host-network pod read the
# account's Parameter Store. These actions take no resource ARN.
SESSION_MANAGER_ACTIONS = [
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]
SYSTEM_AMI = "AL2023_x86_64_STANDARD"
# EKS managed add-ons that need running nodes (CoreDNS is a Deployment: without nodes its add-on times out
# DEGRADED, pulumi/pulumi-eks#1819). The node monitoring agent sets the GPU and kubelet conditions node
# repair acts on; it needs no IAM permissions (EKS user guide, "Available add-ons"). Its node agent tolerates
# every taint, its DCGM agent none (aws/eks-node-monitoring-agent charts values.yaml: dcgmAgent.tolerations
# []), so the GPU pools' taint is tolerated here or GPU health is never checked on GPU nodes.
NODE_ADDONS: dict[str, dict | None] = {
    "coredns": None,
    "eks-node-monitoring-agent": {"dcgmAgent": {"tolerations": [sharing.GPU_TOLERATION]}},
}
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
DEFAULT_STORAGE_CLASS = "gp3-encrypted"


def control_plane_log_group_name(cluster_name: str) -> str:
    return f"/aws/eks/{cluster_name}/cluster"


class Cluster(pulumi.ComponentResource):
    """An EKS cluster on the network's private subnets, with a system node group for platform services."""

    eks_cluster: eks.Cluster
    name: str
    cluster_name: pulumi.Output[str]
    kubernetes_version: pulumi.Output[str]  # the control plane's: node groups follow it
    security_group_id: pulumi.Output[str]  # the cluster security group EKS made (all traffic among members)
    kubernetes: k8s.Provider
    kubeconfig: pulumi.Output[str]
    oidc: OidcProvider
    node_role: aws.iam.Role
    storage_class: k8s.storage.v1.StorageClass
    system_nodes: aws.eks.NodeGroup  # platform services (add-ons, operators, Prometheus) wait for it
    system_size_owner: SizeOwner
    # Node groups upgrade after the control plane and the vpc-cni and kube-proxy add-ons pulumi-eks makes.
    node_group_prerequisites: list[pulumi.Resource]

    def __init__(
        self,
        name: str,
        config: ClusterConfig,
        vpc_id: pulumi.Input[str],
        private_subnet_ids: pulumi.Input[list[str]],
        labels: CostLabels,
        protect: bool,
        log_key_arn: pulumi.Input[str] | None = None,
        log_retention_days: int = 90,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:Cluster", name, None, opts)
        self.name, self._labels = name, labels
        child = pulumi.ResourceOptions(parent=self)

        secrets_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of {name}'s Kubernetes secrets",
            enable_key_rotation=True,
            deletion_window_in_days=30 if protect else 7,
            tags=labels.aws_tags(f"{name}-secrets"),
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        self._vpc_id = vpc_id
        self.node_role, node_policies = self._node_role(child)
        # EKS writes control-plane logs (the audit log among them) to this group, and would create it itself
        # with an AWS-owned key and no expiry if it did not exist first (EKS user guide, control plane logs).
        control_plane_logs = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=control_plane_log_group_name(name),
            kms_key_id=log_key_arn,
            retention_in_days=log_retention_days,
            tags=labels.aws_tags(f"{name}-control-plane"),
            opts=child,
        )

        self.eks_cluster = eks.Cluster(
            name,
            name=name,
            version=config.kubernetes_version,
            vpc_id=vpc_id,
            private_subnet_ids=private_subnet_ids,  # control-plane ENIs and nodes in private subnets only
            endpoint_private_access=True,
            endpoint_public_access=config.endpoint_public_access,
            public_access_cidrs=list(config.public_access_cidrs) or None,
            authentication_mode=eks.AuthenticationMode.API,
            # Team namespaces are isolated by NetworkPolicies, which the VPC CNI enforces only with its
            # network policy agent on (EKS user guide, cni-network-policy; pulumi-eks cni-addon.ts
            # mergeConfigurationValues writes enableNetworkPolicy into the add-on's configuration).
            vpc_cni_options=eks.VpcCniOptionsArgs(enable_network_policy=True),
            access_entries={
                f"admin-{i}": eks.AccessEntryArgs(
                    principal_arn=arn,
                    tags=labels.aws_tags(f"{name}-admin-{i}"),
                    access_policies={
                        "cluster-admin": eks.AccessPolicyAssociationArgs(
                            policy_arn=CLUSTER_ADMIN_POLICY,
                            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                        )
                    },
                )
                for i, arn in enumerate(config.admin_role_arns)
            },
            # The OIDC provider is the platform's own (below), so it carries the cost tags.
            create_oidc_provider=False,
            encryption_config_key_arn=secrets_key.arn,
            enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
            # STANDARD: EKS upgrades the control plane when standard support ends rather than billing
            # extended support, which is the API's default (EKS API reference, UpgradePolicyRequest).
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=config.support_type),
            # No default node group: the system pool below. pulumi-eks then makes vpc-cni and kube-proxy
            # managed add-ons but skips CoreDNS (cluster.ts), which _addons() manages once nodes exist.
            skip_default_node_group=True,
            # Managed node groups use the security group EKS makes for the cluster; pulumi-eks's own cluster
            # and node groups (and their seven rules) would serve no node here.
            skip_default_security_groups=True,
            tags=labels.aws_tags(name),
            cluster_tags=labels.aws_tags(name),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[control_plane_logs]),
        )

        control_plane = self.eks_cluster.eks_cluster
        self.cluster_name = control_plane.name
        self.kubernetes_version = control_plane.version
        self.security_group_id = control_plane.vpc_config.cluster_security_group_id
        self.node_group_prerequisites = [self.eks_cluster, *node_policies]
        self.kubeconfig = pulumi.Output.secret(self.eks_cluster.kubeconfig_json)
        self.kubernetes = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, enable_server_side_apply=True, opts=child
        )
        issuer = control_plane.identities.apply(lambda identities: identities[0].oidcs[0].issuer)
        oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=labels.aws_tags(f"{name}-oidc"),
            opts=child,
        )
        self.oidc = OidcProvider(arn=oidc_provider.arn, issuer_url=issuer)
        self.system_size_owner = SizeOwner.AUTOSCALER if config.autoscaler else SizeOwner.CONFIG
        self.system_nodes = self._system_node_group(config, private_subnet_ids)
        for addon, configuration in NODE_ADDONS.items():
            self._addon(addon, after=[self.system_nodes], configuration=configuration)
        self.storage_class = self._ebs_volumes()
        self.register_outputs(
            {
                "clusterName": name,
                "kubeconfig": self.kubeconfig,
                "oidcProviderArn": self.oidc.arn,
                "oidcIssuerUrl": self.oidc.issuer_url,
            }
        )

    def _node_role(self, child: pulumi.ResourceOptions) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """The role every managed node group's EC2 instances run with (joining, pulling images, pod IPs).

        Node groups wait for its policy attachments, so `pulumi destroy` deletes the groups before it
        detaches the policies their nodes need to leave cleanly (the aws_eks_node_group docs warn of this).
        """
        role = aws.iam.Role(
            f"{self.name}-nodes",
            assume_role_policy=iam.service_trust("ec2.amazonaws.com"),
            description=f"Nodes of EKS cluster {self.name}",
            tags=self._labels.aws_tags(f"{self.name}-nodes"),
            opts=child,
        )
        attachments: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(f"{self.name}-nodes-{i}", role=role.name, policy_arn=policy_arn, opts=child)
            for i, policy_arn in enumerate(NODE_MANAGED_POLICIES)
        ]
        attachments.append(
            aws.iam.RolePolicy(
                f"{self.name}-nodes-session-manager",
                role=role.id,
                policy=iam.document(iam.allow(SESSION_MANAGER_ACTIONS, ["*"], sid="SessionManagerShell")),
                opts=child,
            )
        )
        return role, attachments

    def efa_security_group(self, name: str, tags: dict[str, str]) -> aws.ec2.SecurityGroup:
        """A security group whose members may send each other anything: EFA needs inbound and outbound
        rules that name the group itself (EC2 user guide, efa-start, "Prepare an EFA-enabled security
        group"); the cluster security group allows outbound only to 0.0.0.0/0, which EFA traffic does not match."""
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(
            f"{name}-efa",
            vpc_id=self._vpc_id,
            description=f"EFA traffic among the nodes of {name}",
            tags={**tags, "Name": f"{name}-efa"},
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-efa-in",
            security_group_id=group.id,
            ip_protocol="-1",
            referenced_security_group_id=group.id,
            description="EFA from its peers",
            tags={**tags, "Name": f"{name}-efa-in"},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-efa-out",
            security_group_id=group.id,
            ip_protocol="-1",
            referenced_security_group_id=group.id,
            description="EFA to its peers",
            tags={**tags, "Name": f"{name}-efa-out"},
            opts=child,
        )
        return group

    def _system_node_group(self, config: ClusterConfig, subnet_ids: pulumi.Input[list[str]]) -> aws.eks.NodeGroup:
        group = config.system_node_group
        name = f"{self.name}-system"
        child = pulumi.ResourceOptions(parent=self)
        template = node_launch_template(
            name, NodeTemplateArgs(SYSTEM_AMI, group.disk_size_gib, self._labels.aws_tags(name)), opts=child
        )
        return managed_node_group(
            name,
            NodeGroupArgs(
                cluster_name=self.cluster_name,
                kubernetes_version=self.kubernetes_version,
                node_role_arn=self.node_role.arn,
                subnet_ids=subnet_ids,
                instance_types=group.instance_types,
                ami_type=SYSTEM_AMI,
                capacity_type="ON_DEMAND",
                size=group,
                size_owner=self.system_size_owner,
                labels={SYSTEM_LABEL: "true"},
                tags=self._labels.aws_tags(name),
            ),
            template,
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.node_group_prerequisites),
        )

    def _addon(
        self,
        addon_name: str,
        after: list[pulumi.Resource],
        role_arn: pulumi.Input[str] | None = None,
        configuration: dict | None = None,
    ) -> aws.eks.Addon:
        """An EKS managed add-on at its newest version for the cluster's Kubernetes version, so a version
        bump upgrades it too (as pulumi-eks does for vpc-cni and kube-proxy)."""
        version = aws.eks.get_addon_version_output(
            addon_name=addon_name,
            kubernetes_version=self.kubernetes_version,
            most_recent=True,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        return aws.eks.Addon(
            f"{self.name}-{addon_name}",
            cluster_name=self.cluster_name,
            addon_name=addon_name,
            addon_version=version.version,
            service_account_role_arn=role_arn,
            configuration_values=json.dumps(configuration) if configuration else None,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=self._labels.aws_tags(f"{self.name}-{addon_name}"),
            opts=pulumi.ResourceOptions(parent=self, depends_on=after),
        )

    def _ebs_volumes(self) -> k8s.storage.v1.StorageClass:
        """The EBS CSI driver (its own IRSA role) and an encrypted gp3 default storage class."""
        role = IrsaRole(
            f"{self.name}-ebs-csi",
            self.oidc,
            ServiceAccountBinding("kube-system", "ebs-csi-controller-sa"),
            self._labels,
            managed_policy_arns=(EBS_CSI_POLICY,),
            description="EBS CSI driver manages volumes",
            opts=pulumi.ResourceOptions(parent=self),
        )
        driver = self._addon("aws-ebs-csi-driver", after=[self.system_nodes], role_arn=role.arn)
        return k8s.storage.v1.StorageClass(
            f"{self.name}-{DEFAULT_STORAGE_CLASS}",
            metadata={
                "name": DEFAULT_STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            provisioner="ebs.csi.aws.com",
            parameters={"type": "gp3", "encrypted": "true"},
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            reclaim_policy="Delete",
            opts=pulumi.ResourceOptions(parent=self, provider=self.kubernetes, depends_on=[driver]),
        )
