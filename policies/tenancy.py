"""Teams: every team namespace is held in, and no team may be promised more GPUs than its pools hold."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, StackValidationPolicy

from .gpu import pools_of
from .shapes import NAMESPACE_TYPE, items, mapping, pools_allowed, whole_count

TEAM_LABEL = "gpu-platform.io/team"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _denies_all(spec: Mapping[str, Any]) -> bool:
    """A default deny: every pod, both directions, nothing allowed."""
    types = set(items(spec.get("policyTypes")))
    return (
        not mapping(spec.get("podSelector"))
        and {"Ingress", "Egress"} <= types
        and not items(spec.get("ingress"))
        and not items(spec.get("egress"))
    )


def _tenancy(args: Any, report_violation: Any) -> None:
    held: dict[str, set[str]] = defaultdict(set)
    quotas: dict[str, Mapping[str, Any]] = {}
    for r in args.resources:
        if r.resource_type not in (QUOTA, LIMIT_RANGE, NETWORK_POLICY):
            continue
        namespace = mapping(r.props.get("metadata")).get("namespace")
        if r.resource_type == QUOTA:
            spec = mapping(r.props.get("spec"))
            if spec.get("scopeSelector") or spec.get("scopes"):
                continue  # a scoped quota (e.g. reserved priorities) holds only some pods
            held[namespace].add("quota")
            quotas[namespace] = mapping(spec.get("hard"))
        elif r.resource_type == LIMIT_RANGE:
            held[namespace].add("limit range")
        elif _denies_all(mapping(r.props.get("spec"))):
            held[namespace].add("default deny")
    pools = pools_of(args.resources)
    for r in args.resources:
        metadata = mapping(r.props.get("metadata"))
        if r.resource_type != NAMESPACE_TYPE or not mapping(metadata.get("labels")).get(TEAM_LABEL):
            continue
        name = metadata.get("name")
        missing = [m for m in ("quota", "limit range", "default deny") if m not in held[name]]
        if missing:
            report_violation(f"team namespace {name}: has no {', no '.join(missing)}", r.urn)
        team_pools = pools_allowed(metadata) or []
        if name in quotas:
            capped = {k.removeprefix("requests.") for k in quotas[name]}
            uncapped = sorted({g for p in pools.values() for g in p.advertised} - capped)
            if uncapped:
                report_violation(
                    f"team namespace {name}: its quota does not cap {', '.join(uncapped)}, which the stack's pools "
                    "advertise, so the team may use any number: name each (0 where the team may use none)",
                    r.urn,
                )
        for key, value in quotas.get(name, {}).items():
            resource = key.removeprefix("requests.")
            if "/" not in resource:
                continue  # cpu, memory, pods: not GPU capacity
            asked = whole_count(value)
            if asked is None:
                report_violation(f"team namespace {name}: quota {key}={value} is not a whole count", r.urn)
                continue
            sizes = {p: pools[p].max_size for p in team_pools if p in pools}
            if None in sizes.values():
                continue  # a pool's maxSize is not known yet: judged at `pulumi up`
            most = sum(pools[p].advertised.get(resource, 0) * (sizes[p] or 0) for p in sizes)
            if asked > most:
                report_violation(
                    f"team namespace {name}: quota {key}={asked} is more than its pools "
                    f"({', '.join(team_pools) or 'none'}) hold at maxSize ({most})",
                    r.urn,
                )


tenancy = StackValidationPolicy(
    name="tenancy",
    description=(
        "Every team namespace has its ResourceQuota, LimitRange and default-deny NetworkPolicy; its quota caps "
        "every GPU resource the pools advertise, and no more than its pools hold at maxSize: build teams with "
        "components/tenancy.py and size the quota to the pools (or the pools to the quota)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_tenancy,
)
