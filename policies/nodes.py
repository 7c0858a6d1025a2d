"""Nodes: labels EKS accepts, GPU node groups keep other pods off with a taint, launch templates lock down
instance metadata."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from .shapes import LAUNCH_TEMPLATE_TYPE, NODE_GROUP_TYPES, gpu_pool_name, items, mapping, normal_effect


def _gpu_pool_taint(args, report_violation) -> None:
    if args.resource_type not in NODE_GROUP_TYPES:
        return
    pool = gpu_pool_name(args.props)
    if not pool:
        return
    effects = [normal_effect(mapping(t).get("effect")) for t in items(args.props.get("taints"))]
    if "NoSchedule" not in effects:
        report_violation(f"{args.name}: GPU pool '{pool}' has no NoSchedule taint")


gpu_pool_taint = ResourceValidationPolicy(
    name="gpu-pool-taint",
    description=(
        "Every GPU node group carries a NoSchedule taint, so only pods that tolerate it land there: "
        "add taints [{key: nvidia.com/gpu, value: <pool>, effect: NO_SCHEDULE}]."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_gpu_pool_taint,
)

HOP_LIMIT = 1

# The EKS node group API refuses a label key whose prefix contains one of these ("Label cannot contain
# reserved prefixes", InvalidParameterException; aws/containers-roadmap#1451, eksctl-io/eksctl#4007).
RESERVED_LABEL_PREFIX_PARTS = ("kubernetes.io/", "k8s.io/", "eks.amazonaws.com/")


def _reserved_part(key: str) -> str | None:
    prefix = key.rpartition("/")[0] + "/" if "/" in key else ""
    return next((part for part in RESERVED_LABEL_PREFIX_PARTS if part in prefix), None)


def _node_group_labels(args, report_violation) -> None:
    if args.resource_type not in NODE_GROUP_TYPES:
        return
    for key in sorted(mapping(args.props.get("labels"))):
        part = _reserved_part(str(key))
        if part is not None:
            report_violation(
                f"{args.name}: label {key} has the reserved prefix {part}, which EKS refuses on node groups"
            )


node_group_labels = ResourceValidationPolicy(
    name="node-group-labels",
    description=(
        "EKS refuses node group labels whose prefix contains kubernetes.io/, k8s.io/ or "
        "eks.amazonaws.com/, and the whole node group fails to create: use a domain of your own "
        "(gpu-platform.io/...)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_node_group_labels,
)


def _imdsv2(args, report_violation) -> None:
    if args.resource_type != LAUNCH_TEMPLATE_TYPE:
        return
    options = mapping(args.props.get("metadataOptions"))
    if options.get("httpTokens") != "required":
        report_violation(
            f"{args.name}: metadataOptions.httpTokens is {options.get('httpTokens') or 'unset'}, not required"
        )
    hops = options.get("httpPutResponseHopLimit")
    if hops != HOP_LIMIT:
        report_violation(
            f"{args.name}: metadataOptions.httpPutResponseHopLimit is "
            f"{'unset' if hops is None else int(hops) if isinstance(hops, float) else hops}, not 1"
        )


launch_template_imdsv2 = ResourceValidationPolicy(
    name="launch-template-imdsv2",
    description=(
        "Launch templates require IMDSv2 with a hop limit of 1, so pods cannot borrow the node's role: "
        "set metadataOptions {httpTokens: required, httpPutResponseHopLimit: 1}."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_imdsv2,
)
