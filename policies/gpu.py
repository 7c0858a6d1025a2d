"""GPU scheduling: containers size their GPU asks exactly, and GPU workloads land on the pool they ask for."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.proxy import UnknownValueError

from .shapes import (
    GPU_POOL_LABEL,
    NAMESPACE_TYPE,
    NODE_GROUP_TYPES,
    advertised,
    containers,
    gpu_pool_name,
    gpu_resources,
    items,
    mapping,
    normal_effect,
    pod_template,
    pools_allowed,
)


def _quantity(value: object) -> str | None:
    """A quantity as Kubernetes prints it: numbers arrive as floats over the wire, 1.0 is 1."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return None if value is None else str(value)


def _gpu_requests_and_limits(args, report_violation) -> None:
    template = pod_template(args.resource_type, args.props)
    if template is None:
        return
    for name, container in containers(mapping(template.get("spec"))):
        gpus = gpu_resources(container)
        if not gpus:
            continue
        resources = mapping(container.get("resources"))
        requests, limits = mapping(resources.get("requests")), mapping(resources.get("limits"))
        for gpu in gpus:
            request, limit = _quantity(requests.get(gpu)), _quantity(limits.get(gpu))
            # An extended resource's request defaults to its limit, and must equal it when both are given
            # (Kubernetes, "Managing resources for containers"; apis/core/validation ValidateResourceRequirements).
            if limit is None:
                report_violation(
                    f"{args.name}: container {name}: {gpu} request {request} has no limit; set limits {gpu}: {request}"
                )
            elif request not in (None, limit):
                report_violation(f"{args.name}: container {name}: {gpu} request {request} != limit {limit}")
        missing = [r for r in ("cpu", "memory") if requests.get(r) in (None, "")]
        if missing:
            report_violation(
                f"{args.name}: container {name} asks for {', '.join(gpus)} without {' and '.join(missing)} requests"
            )


gpu_requests_and_limits = ResourceValidationPolicy(
    name="gpu-requests-and-limits",
    description=(
        "A container asking for nvidia.com/gpu or nvidia.com/mig-* sets a GPU limit (a request, if given, "
        "equal to it) and CPU and memory requests: write the GPU quantity under limits."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_gpu_requests_and_limits,
)


@dataclass(frozen=True)
class Pool:
    """A GPU pool as its node group declares it."""

    name: str
    taints: tuple[tuple[str, str, str], ...]  # (key, value, effect as Kubernetes writes it)
    advertised: Mapping[str, int]
    max_size: int | None  # its node group's scalingConfig.maxSize: 0 where no number, None if not known yet


def pools_of(resources) -> dict[str, Pool]:
    pools: dict[str, Pool] = {}
    for r in resources:
        name = gpu_pool_name(r.props) if r.resource_type in NODE_GROUP_TYPES else None
        if name:
            taints = tuple(
                (
                    str(mapping(t).get("key")),
                    str(mapping(t).get("value") or ""),
                    normal_effect(mapping(t).get("effect")),
                )
                for t in items(r.props.get("taints"))
            )
            try:
                most = mapping(r.props.get("scalingConfig")).get("maxSize")
                size: int | None = int(most) if isinstance(most, (int, float)) else 0
            except UnknownValueError:  # a first preview: known once the stack's config is
                size = None
            pools[name] = Pool(name, taints, advertised(r.props.get("tags")), size)
    return pools


def _tolerates(toleration: Mapping, taint: tuple[str, str, str]) -> bool:
    """Kubernetes' matching: same key (or empty key with Exists), same effect (or none), value if Equal."""
    key, value, effect = taint
    if toleration.get("effect") not in (None, "", effect):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return toleration.get("key") in (None, "", key)
    return toleration.get("key") == key and (toleration.get("value") or "") == value


def _added_by_api_server(toleration: Mapping, asked: list[str]) -> bool:
    """EKS runs the ExtendedResourceToleration admission plugin: a pod that requests an extended resource gets
    {key: <resource>, operator: Exists, effect: NoSchedule} (kubernetes plugin/pkg/admission/
    extendedresourcetoleration). It fits every pool tainted nvidia.com/gpu, but the workload did not choose it."""
    return (
        toleration.get("operator") == "Exists"
        and toleration.get("effect") == "NoSchedule"
        and toleration.get("key") in asked
    )


def gpu_workloads(resources) -> Iterator[tuple[Any, Mapping, list[str]]]:
    """(resource, pod spec, GPU resources asked, sorted) of every workload that asks for a GPU."""
    for r in resources:
        template = pod_template(r.resource_type, r.props)
        if template is None:
            continue
        spec = mapping(template.get("spec"))
        asked = sorted({g for _, c in containers(spec) for g in gpu_resources(c)})
        if asked:
            yield r, spec, asked


def _gpu_placement(args, report_violation) -> None:
    pools = pools_of(args.resources)
    for r, spec, asked in gpu_workloads(args.resources):
        wanted = mapping(spec.get("nodeSelector")).get(GPU_POOL_LABEL)
        if not wanted:
            report_violation(
                f"{r.name}: asks for {', '.join(asked)} but selects no GPU pool (nodeSelector {GPU_POOL_LABEL})", r.urn
            )
            continue
        pool = pools.get(wanted)
        if pool is None:
            report_violation(
                f"{r.name}: selects GPU pool '{wanted}', which no node group of this stack is; "
                f"pools: {', '.join(sorted(pools)) or 'none'}",
                r.urn,
            )
            continue
        tolerations = [mapping(t) for t in items(spec.get("tolerations"))]
        own = [t for t in pool.taints if t[2] == "NoSchedule"]
        if not own or not all(any(_tolerates(t, taint) for t in tolerations) for taint in own):
            shown = ", ".join(f"{k}={v}:{e}" for k, v, e in own) or "none"
            report_violation(f"{r.name}: does not tolerate the taint of GPU pool '{wanted}' ({shown})", r.urn)
        chosen = [t for t in tolerations if not _added_by_api_server(t, asked)]
        others = sorted(
            p.name
            for p in pools.values()
            if p.name != wanted and any(_tolerates(t, taint) for t in chosen for taint in p.taints)
        )
        if others:
            report_violation(f"{r.name}: tolerates the taints of other GPU pools too: {', '.join(others)}", r.urn)
        foreign = [g for g in asked if g not in pool.advertised]
        if foreign:
            offer = ", ".join(f"{k}={v}" for k, v in sorted(pool.advertised.items())) or "nothing"
            report_violation(
                f"{r.name}: asks for {', '.join(foreign)}, which GPU pool '{wanted}' does not "
                f"advertise (it advertises {offer})",
                r.urn,
            )


gpu_placement = StackValidationPolicy(
    name="gpu-placement",
    description=(
        "A GPU workload selects one GPU pool (nodeSelector gpu-platform.io/pool), tolerates "
        "exactly that pool's taint, and asks for a resource the pool advertises: fix the selector, "
        "toleration or resource name."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_gpu_placement,
)


def _gpu_namespaces(args, report_violation) -> None:
    namespaces = {
        str(mapping(r.props.get("metadata")).get("name")): pools_allowed(mapping(r.props.get("metadata")))
        for r in args.resources
        if r.resource_type == NAMESPACE_TYPE
    }
    for r, spec, asked in gpu_workloads(args.resources):
        namespace = mapping(r.props.get("metadata")).get("namespace") or "default"
        allowed = namespaces.get(namespace)
        if allowed is None:
            report_violation(
                f"{r.name}: asks for {', '.join(asked)} in namespace '{namespace}', which is not a GPU namespace "
                "(a team's or the platform's inference namespace)",
                r.urn,
            )
            continue
        wanted = mapping(spec.get("nodeSelector")).get(GPU_POOL_LABEL)
        if wanted and wanted not in allowed:
            report_violation(
                f"{r.name}: selects GPU pool '{wanted}', which namespace '{namespace}' may not use; "
                f"it may use: {', '.join(allowed) or 'none'}",
                r.urn,
            )


gpu_namespaces = StackValidationPolicy(
    name="gpu-namespaces",
    description=(
        "A GPU workload runs in a namespace the platform made for GPU work (a team's, or the inference "
        "namespace: annotation gpu-platform.io/gpu-pools) and selects a pool that namespace may use: move it "
        "to its team's namespace, or add the pool to the team's gpuPools."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_gpu_namespaces,
)
