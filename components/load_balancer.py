"""The AWS Load Balancer Controller: Ingresses of class `alb` become internal Application Load Balancers.

Facts, each from its source:
- The chart is aws/eks-charts stable/aws-load-balancer-controller 3.5.0 (appVersion v3.5.0); its values.yaml
  names every key set below.
- Its IAM permissions are AWS's published policy for the controller at that version,
  kubernetes-sigs/aws-load-balancer-controller docs/install/iam_policy.json at tag v3.5.0 (commit 11eb202c),
  copied unchanged into components/aws_policies/ and attached as the role's inline policy.
- The controller finds subnets by their tags (`kubernetes.io/role/internal-elb` on the private subnets, which
  components/network.py sets), and creates internal load balancers unless told otherwise: the chart's
  IngressClassParams for class `alb` pins `scheme: internal`, so no Ingress of that class can ask for a
  public one.
- With the VPC CNI every pod has a VPC address, so targets are pods (`defaultTargetType: ip`, the chart's
  advice for ENI-based CNIs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from gpu_platform.components.charts import chart_release
from gpu_platform.components.cluster import Cluster
from gpu_platform.components.irsa import IrsaRole, ServiceAccountBinding
from gpu_platform.components.labels import CostLabels
from gpu_platform.components.node_labels import SYSTEM_LABEL

CHART = "aws-load-balancer-controller"
CHART_VERSION = "3.5.0"  # aws/eks-charts stable/aws-load-balancer-controller, appVersion v3.5.0
CHART_REPOSITORY = "https://aws.github.io/eks-charts"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"
INGRESS_CLASS = "alb"
POLICY_FILE = Path(__file__).resolve().parent / "aws_policies" / "aws-load-balancer-controller-v3.5.0.json"


def controller_statements() -> tuple[dict[str, Any], ...]:
    """AWS's published IAM policy for this controller version, statement by statement."""
    return tuple(json.loads(POLICY_FILE.read_text())["Statement"])


def chart_values(
    cluster_name: str, region: str, vpc_id: str, labels: CostLabels, pod_labels: dict[str, str], monitored: bool
) -> dict[str, Any]:
    """The chart's values: its own role (the service account is the platform's), on the system pool, internal
    load balancers whose AWS resources carry the cost tags."""
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,  # no instance metadata lookup (IMDSv2 hop limit 1 keeps pods from it)
        "replicaCount": 2,
        "serviceAccount": {"create": False, "name": SERVICE_ACCOUNT},
        "nodeSelector": {"kubernetes.io/os": "linux", SYSTEM_LABEL: "true"},
        "podLabels": pod_labels,
        "defaultTargetType": "ip",
        "ingressClass": INGRESS_CLASS,
        "ingressClassParams": {"spec": {"scheme": "internal"}},
        "defaultTags": labels.base(),  # load balancers, target groups and security groups it creates
        "serviceMonitor": {"enabled": monitored},
    }


class LoadBalancerController(pulumi.ComponentResource):
    """The controller's IRSA role and service account, and its Helm release."""

    release: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        cluster: Cluster,
        vpc_id: pulumi.Input[str],
        region: str,
        labels: CostLabels,
        pod_labels: dict[str, str],
        monitoring_crds: list[pulumi.Resource] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:LoadBalancerController", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = IrsaRole(
            f"{name}-role",
            cluster.oidc,
            ServiceAccountBinding(NAMESPACE, SERVICE_ACCOUNT, cluster.kubernetes, pod_labels),
            labels,
            statements=controller_statements(),
            description="AWS Load Balancer Controller manages this cluster's load balancers",
            opts=child,
        )
        values = pulumi.Output.all(cluster.name, vpc_id).apply(
            lambda a: chart_values(a[0], region, a[1], labels, pod_labels, monitoring_crds is not None)
        )
        self.release = chart_release(
            name,
            CHART,
            CHART_VERSION,
            CHART_REPOSITORY,
            NAMESPACE,
            values=values,
            opts=pulumi.ResourceOptions(
                parent=self,
                provider=cluster.kubernetes,
                depends_on=[role, cluster.system_nodes, *(monitoring_crds or [])],
            ),
        )
        self.register_outputs({"ingressClass": INGRESS_CLASS})
