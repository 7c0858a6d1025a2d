"""EKS: clusters and managed node groups."""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Iterator

from gpu_platform.components import catalog, node_labels
from gpu_platform.offline.rules import Request, known, named, plan_rule, rule

CREATE_NODEGROUP = "docs.aws.amazon.com/eks/latest/APIReference/API_CreateNodegroup.html"
TAINT = (
    "docs.aws.amazon.com/eks/latest/APIReference/API_Taint.html; terraform-provider-aws "
    "internal/service/eks/node_group.go (key 1 to 63)"
)
LABELS = "docs.aws.amazon.com/eks/latest/APIReference/API_UpdateLabelsPayload.html"
QUOTAS = "docs.aws.amazon.com/eks/latest/userguide/service-quotas.html"
CREATE_CLUSTER = "docs.aws.amazon.com/eks/latest/APIReference/API_CreateCluster.html"
LAUNCH_TEMPLATES = "docs.aws.amazon.com/eks/latest/userguide/launch-templates.html"
KUBERNETES_VERSIONS = (
    'docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html ("any version offered in '
    'standard or extended support")'
)
TAINT_EFFECTS = ("NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE")


@rule("eks-cluster-name", CREATE_CLUSTER, "aws:eks/cluster:Cluster")
def _cluster_name(request: Request) -> Iterator[str]:
    yield from named(
        "cluster name",
        request.inputs.get("name"),
        1,
        100,
        r"[0-9A-Za-z][A-Za-z0-9\-_]*",
        "must start with a letter or digit and hold only letters, digits, '-' and '_'",
    )


@rule("eks-cluster-version", f"{KUBERNETES_VERSIONS}; calendar in components/catalog.py", "aws:eks/cluster:Cluster")
def _cluster_version(request: Request) -> Iterator[str]:
    """EKS creates clusters at any minor in standard or extended support; it refuses one past both. A minor
    newer than the calendar is not refused here (the platform's own config check limits what it uses)."""
    version = request.inputs.get("version")
    if not isinstance(version, str) or not known(version):
        return
    if not re.fullmatch(r"1\.\d+", version):
        yield f"Kubernetes version {version!r} is not a minor such as 1.35"
        return
    today = datetime.datetime.now(datetime.UTC).date()
    release = catalog.EKS_CALENDAR.get(version)
    oldest = min(catalog.EKS_CALENDAR, key=lambda m: tuple(map(int, m.split("."))))
    too_old = tuple(map(int, version.split("."))) < tuple(map(int, oldest.split(".")))
    if too_old or (release is not None and not release.supported(today)):
        offered = ", ".join(m for m, r in catalog.EKS_CALENDAR.items() if r.supported(today))
        yield f"EKS no longer creates clusters at Kubernetes {version}; it offers {offered}"


@rule(
    "eks-nodegroup-labels",
    f"{LABELS}; Kubernetes label syntax and EKS's reserved prefixes: components/node_labels.py",
    "aws:eks/nodeGroup:NodeGroup",
)
def _nodegroup_labels(request: Request) -> Iterator[str]:
    labels = request.inputs.get("labels")
    if not isinstance(labels, dict):
        return
    for key, value in labels.items():
        if not 1 <= len(key) <= 63:
            yield f"label key {key!r} is {len(key)} characters; EKS takes 1 to 63"
        problem = node_labels.label_key_problem(key)  # Kubernetes syntax, then EKS's reserved prefixes
        if problem is not None:
            yield f"label key {problem}"
        if not isinstance(value, str) or not known(value):
            continue
        if not 1 <= len(value) <= 63:
            yield f"label {key!r} has a value of {len(value)} characters; EKS takes 1 to 63"
        elif node_labels.label_value_problem(value) is not None:
            yield f"label {key!r} has the value {value!r}, which {node_labels.label_value_problem(value)}"


@rule("eks-nodegroup-taints", TAINT, "aws:eks/nodeGroup:NodeGroup")
def _nodegroup_taints(request: Request) -> Iterator[str]:
    taints = request.inputs.get("taints")
    if not isinstance(taints, list):
        return
    if len(taints) > 50:
        yield f"{len(taints)} taints; EKS takes at most 50 per node group"
    for taint in taints:
        if not isinstance(taint, dict):
            yield f"taint {taint!r} is not an object with key, value and effect"
            continue
        key, value, effect = taint.get("key"), taint.get("value", ""), taint.get("effect")
        if not isinstance(key, str) or not 1 <= len(key) <= 63:
            yield f"taint key {key!r} must be 1 to 63 characters"
        if isinstance(value, str) and len(value) > 63:
            yield f"taint {key!r} has a value of {len(value)} characters; EKS takes at most 63"
        if effect not in TAINT_EFFECTS:
            yield f"taint {key!r} has effect {effect!r}; EKS takes {', '.join(TAINT_EFFECTS)}"


@rule(
    "eks-nodegroup-scaling",
    f"{CREATE_NODEGROUP} (NodegroupScalingConfig); {QUOTAS} (quota: nodes per managed node group, 450)",
    "aws:eks/nodeGroup:NodeGroup",
)
def _nodegroup_scaling(request: Request) -> Iterator[str]:
    scaling = request.inputs.get("scalingConfig")
    if not isinstance(scaling, dict) or not known(scaling):
        return
    low, high, desired = scaling.get("minSize"), scaling.get("maxSize"), scaling.get("desiredSize")
    if isinstance(low, int) and low < 0:
        yield f"minSize {low}; EKS takes 0 or more"
    if isinstance(high, int) and high < 1:
        yield f"maxSize {high}; EKS takes 1 or more"
    if isinstance(high, int) and high > 450:
        yield f"maxSize {high} is over the quota of 450 nodes per managed node group (raise it first)"
    if isinstance(low, int) and isinstance(high, int) and low > high:
        yield f"minSize {low} is over maxSize {high}"
    if isinstance(desired, int) and isinstance(low, int) and isinstance(high, int) and not low <= desired <= high:
        yield f"desiredSize {desired} is outside minSize {low} to maxSize {high}"


@rule("eks-nodegroup-launch-template", LAUNCH_TEMPLATES, "aws:eks/nodeGroup:NodeGroup")
def _nodegroup_launch_template(request: Request) -> Iterator[str]:
    spec = request.inputs.get("launchTemplate")
    if not isinstance(spec, dict):
        return
    for field, why in (
        ("diskSize", "set the volume in the launch template"),
        ("remoteAccess", "set the key pair and security groups in the launch template"),
    ):
        if request.inputs.get(field) is not None:
            yield f"{field} with a launch template: {why}"
    template = request.find("aws:ec2/launchTemplate:LaunchTemplate", spec.get("id", "")) if known(spec) else None
    if template is None:
        return
    if template.inputs.get("instanceType") and request.inputs.get("instanceTypes"):
        yield "instanceTypes on the node group and instanceType in its launch template: set one of them"
    if template.inputs.get("imageId") and request.inputs.get("amiType") not in (None, "CUSTOM"):
        yield (
            f"amiType {request.inputs.get('amiType')!r} with a launch template that names an AMI: "
            "leave amiType out (or CUSTOM)"
        )
    if template.inputs.get("iamInstanceProfile"):
        yield "a launch template with an IAM instance profile: EKS sets the node role's profile itself"


@plan_rule("eks-nodegroups-per-cluster", f"{QUOTAS} (quota: managed node groups per cluster, 30)")
def _node_groups_per_cluster(requests: list[Request]) -> Iterator[tuple[str, str]]:
    per_cluster: dict[str, list[str]] = defaultdict(list)
    for request in requests:
        cluster = request.inputs.get("clusterName")
        if request.type == "aws:eks/nodeGroup:NodeGroup" and isinstance(cluster, str) and known(cluster):
            per_cluster[cluster].append(request.urn)
    for cluster, urns in per_cluster.items():
        if len(urns) > 30:
            yield (
                urns[30],
                (
                    f"cluster {cluster!r} would have {len(urns)} managed node groups; the quota is 30 "
                    "per cluster (raise it first)"
                ),
            )
