"""Cost attribution: AWS tags and Kubernetes pod-template labels that cost dashboards join on."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyConfigSchema, ResourceValidationPolicy, StackValidationPolicy

from .shapes import (
    LAUNCH_TEMPLATE_TYPE,
    NODE_GROUP_TYPES,
    dig,
    gpu_pool_name,
    items,
    launch_template_of,
    launch_templates,
    mapping,
    missing_keys,
    pod_template,
    setting,
    takes_tags,
)

COST_KEYS = ["cost-center", "product", "environment"]
WORKLOAD_TYPE = "workload-type"
WORKLOAD_TYPES = ["inference", "training", "batch"]

_KEYS = {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True}
COST_SCHEMA = {
    "requiredTags": {
        **_KEYS,
        "default": COST_KEYS,
        "description": "Tags every taggable AWS resource carries, non-empty.",
    },
    "workloadTypes": {
        **_KEYS,
        "default": WORKLOAD_TYPES,
        "description": "Allowed values of the workload-type tag and label.",
    },
}
LABELS_SCHEMA = {
    "requiredLabels": {
        **_KEYS,
        "default": COST_KEYS + [WORKLOAD_TYPE],
        "description": "Labels every workload's pod template carries, non-empty.",
    },
    "workloadTypes": COST_SCHEMA["workloadTypes"],
}


def _workload_type_problem(value: Any, allowed: list[str], where: str) -> str | None:
    if value in (None, ""):
        return None  # reported as missing
    if value not in allowed:
        return f"{where} {WORKLOAD_TYPE} is '{value}'; allowed: {', '.join(allowed)}"
    return None


def _cost_tags(args, report_violation) -> None:
    if not takes_tags(args.resource_type):
        return
    required = list(setting(args, COST_SCHEMA, "requiredTags"))
    allowed = list(setting(args, COST_SCHEMA, "workloadTypes"))
    props = args.props
    if args.resource_type in NODE_GROUP_TYPES and gpu_pool_name(props):
        required = required + [WORKLOAD_TYPE]
    missing = missing_keys(props.get("tags"), required)
    if missing:
        report_violation(f"{args.name}: tags missing or empty: {', '.join(missing)}")
    problem = _workload_type_problem(mapping(props.get("tags")).get(WORKLOAD_TYPE), allowed, f"{args.name}:")
    if problem:
        report_violation(problem)
    if args.resource_type == LAUNCH_TEMPLATE_TYPE:
        for spec in items(props.get("tagSpecifications")):
            spec = mapping(spec)
            missing = missing_keys(spec.get("tags"), list(setting(args, COST_SCHEMA, "requiredTags")))
            if missing:
                report_violation(
                    f"{args.name}: tagSpecifications[{spec.get('resourceType')}] tags missing "
                    f"or empty: {', '.join(missing)}"
                )


cost_tags = ResourceValidationPolicy(
    name="cost-tags",
    description=(
        "Every taggable AWS resource carries non-empty cost-center, product and environment tags "
        "(GPU node groups also workload-type): build tags with components/labels.py CostLabels.aws_tags."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties=COST_SCHEMA),
    validate=_cost_tags,
)


def _workload_labels(args, report_violation) -> None:
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    required = list(setting(args, LABELS_SCHEMA, "requiredLabels"))
    allowed = list(setting(args, LABELS_SCHEMA, "workloadTypes"))
    labels = dig(template, "metadata", "labels")
    missing = missing_keys(labels, required)
    if missing:
        report_violation(f"{args.name}: pod template labels missing or empty: {', '.join(missing)}")
    problem = _workload_type_problem(mapping(labels).get(WORKLOAD_TYPE), allowed, f"{args.name}: pod template")
    if problem:
        report_violation(problem)


workload_labels = ResourceValidationPolicy(
    name="workload-labels",
    description=(
        "Every Kubernetes workload's pod template carries cost-center, product, environment and an "
        "allowed workload-type label: set them with CostLabels.k8s_labels(workload_type)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=PolicyConfigSchema(properties=LABELS_SCHEMA),
    validate=_workload_labels,
)


def _gpu_launch_template_tags(args, report_violation) -> None:
    templates = launch_templates(args.resources)
    for pool in args.resources:
        if pool.resource_type not in NODE_GROUP_TYPES or not gpu_pool_name(pool.props):
            continue
        template = launch_template_of(pool, templates)
        if template is None:
            continue
        wanted = mapping(pool.props.get("tags")).get(WORKLOAD_TYPE)
        places = {"tags": template.props.get("tags")}
        for spec in items(template.props.get("tagSpecifications")):
            spec = mapping(spec)
            if spec.get("resourceType") in ("instance", "volume"):
                places[f"tagSpecifications[{spec.get('resourceType')}]"] = spec.get("tags")
        for where, tags in places.items():
            value = mapping(tags).get(WORKLOAD_TYPE)
            if not value:
                report_violation(
                    f"{template.name} (launch template of GPU pool {gpu_pool_name(pool.props)}): "
                    f"{where} has no {WORKLOAD_TYPE}",
                    template.urn,
                )
            elif wanted and value != wanted:
                report_violation(
                    f"{template.name} (launch template of GPU pool {gpu_pool_name(pool.props)}): "
                    f"{where} {WORKLOAD_TYPE} is '{value}', its node group's is '{wanted}'",
                    template.urn,
                )


gpu_launch_template_tags = StackValidationPolicy(
    name="gpu-launch-template-tags",
    description=(
        "A GPU pool's launch template carries the pool's workload-type tag on itself and on the "
        "instances and volumes it launches: add it to tags and tagSpecifications."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_gpu_launch_template_tags,
)
