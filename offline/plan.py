"""The plan: a recording written as a `pulumi stack export` deployment (version 3).

One reviewer (and one policy review) reads both an offline plan and a real
stack's exported state. Resources come parents and dependencies first, ties
broken by URN, and nothing depends on the clock, so two runs of a stack give
byte-identical files. Secrets are written as `pulumi stack export
--show-secrets` writes them: marked secret, with their plaintext.
"""

from __future__ import annotations

import datetime
import hashlib
import heapq
import json
from collections import Counter, defaultdict
from importlib import metadata
from typing import Any

from gpu_platform.components import catalog, regions
from gpu_platform.offline import cloud
from gpu_platform.offline.engine import STACK_TYPE, Recording, Resource
from gpu_platform.offline.wire import SECRET_SIG, SPECIAL_SIG, UNKNOWN, reveal
from gpu_platform.policies.cost import HOURS_PER_MONTH

DEPLOYMENT_VERSION = 3
# `pulumi stack export` writes the time of the update; a plan has none, and stays reproducible.
PLAN_TIME = "1970-01-01T00:00:00Z"


def deployment(recording: Recording) -> dict[str, Any]:
    version = f"offline-plan (pulumi-sdk {metadata.version('pulumi')})"
    return {
        "version": DEPLOYMENT_VERSION,
        "deployment": {
            "manifest": {"time": PLAN_TIME, "magic": hashlib.sha256(version.encode()).hexdigest(), "version": version},
            "resources": [_entry(r) for r in ordered(recording.resources)],
        },
    }


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=4, sort_keys=False) + "\n"


def ordered(resources: list[Resource]) -> list[Resource]:
    """Topological order (parent, provider and dependencies first), ties broken by URN."""
    by_urn = {r.urn: r for r in resources}
    before: dict[str, set[str]] = {r.urn: set() for r in resources}
    for r in resources:
        deps = {
            r.parent,
            r.provider.rsplit("::", 1)[0],
            *r.dependencies,
            *(u for urns in r.property_dependencies.values() for u in urns),
        }
        before[r.urn] = {d for d in deps if d in by_urn and d != r.urn}
    after: dict[str, set[str]] = defaultdict(set)
    for urn, deps in before.items():
        for dep in deps:
            after[dep].add(urn)
    ready = [u for u, deps in before.items() if not deps]
    heapq.heapify(ready)
    result: list[Resource] = []
    waiting = {u: len(d) for u, d in before.items()}
    while ready:
        urn = heapq.heappop(ready)
        result.append(by_urn[urn])
        for nxt in after[urn]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(result) != len(resources):
        cycle = sorted(u for u, n in waiting.items() if n > 0)
        raise ValueError(f"dependency cycle among {cycle}")
    return result


def _entry(r: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {"urn": r.urn, "custom": r.custom}
    if r.custom:
        entry["id"] = r.id
    entry["type"] = r.type
    if r.type != STACK_TYPE:
        entry["inputs"] = export_value(r.inputs)
    entry["outputs"] = export_value(r.outputs)
    if r.parent:
        entry["parent"] = r.parent
    if r.protect:
        entry["protect"] = True
    if r.retain_on_delete:
        entry["retainOnDelete"] = True
    if r.dependencies:
        entry["dependencies"] = r.dependencies
    if r.provider:
        entry["provider"] = r.provider
    deps = {k: v for k, v in sorted(r.property_dependencies.items()) if v}
    if deps:
        entry["propertyDependencies"] = deps
    if r.additional_secret_outputs:
        entry["additionalSecretOutputs"] = r.additional_secret_outputs
    return entry


def export_value(value: Any) -> Any:
    """A wire value in export form: secrets as {sig, plaintext: <JSON text>}."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG) == SECRET_SIG:
            return {SPECIAL_SIG: SECRET_SIG, "plaintext": json.dumps(reveal(value["value"]), sort_keys=True)}
        return {k: export_value(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [export_value(v) for v in value]
    return value


def plain_value(value: Any) -> Any:
    """An export-form value as plain data: secrets' plaintext decoded (what `pulumi stack output
    --show-secrets --json` prints)."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG) == SECRET_SIG and "plaintext" in value:
            return plain_value(json.loads(value["plaintext"]))
        return {k: plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_value(v) for v in value]
    return value


# --- the readable summary ----------------------------------------------------

EKS_CLUSTER_TYPE = "aws:eks/cluster:Cluster"  # pulumi-eks's child: its component shows the engine no inputs
UPGRADE_WARNING_DAYS = 60


def kubernetes_support(cluster: dict[str, Any], today: datetime.date) -> str:
    """What the cluster's Kubernetes version costs on EKS today, and until when."""
    minor, support = cluster.get("version", ""), (cluster.get("upgradePolicy") or {}).get("supportType", "EXTENDED")
    release = catalog.EKS_RELEASES.get(minor)
    if release is None:
        return f"Kubernetes {minor}: not in the platform's EKS calendar (components/catalog.py)"
    std, ext = catalog.eks_control_plane_usd_per_hour()
    if release.in_standard_support(today):
        after = (
            "then EKS upgrades the control plane" if support == "STANDARD" else f"then extended support at ${ext:.2f}"
        )
        days = (release.end_of_standard - today).days
        soon = f"; {days} days left: plan the upgrade" if days <= UPGRADE_WARNING_DAYS else ""
        return (
            f"Kubernetes {minor}: EKS standard support until {release.end_of_standard} "
            f"(${std:.2f} per cluster-hour), {after}{soon}"
        )
    extra = (ext - std) * HOURS_PER_MONTH
    return (
        f"Kubernetes {minor}: EKS EXTENDED support since {release.end_of_standard}, until "
        f"{release.end_of_extended}: ${ext:.2f} per cluster-hour, ${extra:,.0f} a month more than a "
        "version in standard support"
    )


KNOWN_AFTER_CREATE = "(known after create)"


def _shown(value: Any) -> Any:
    """A value as the summary prints it: the engine's unknown marker as the words a preview shows."""
    if value == UNKNOWN:
        return KNOWN_AFTER_CREATE
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return value


def summary(document: dict[str, Any], today: datetime.date | None = None) -> str:
    """The component tree with resource counts by type, what its Kubernetes version costs, the stack outputs."""
    resources = document["deployment"]["resources"]
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in resources:
        children[r.get("parent", "")].append(r)
    stack = next(r for r in resources if r["type"] == STACK_TYPE)
    lines: list[str] = []

    def counted(r: dict[str, Any]) -> bool:
        """Resources; components (the project's and pulumi-eks's, with their children) are walked instead."""
        return bool(r["custom"])

    def walk(component: dict[str, Any], indent: str) -> None:
        name = component["urn"].rsplit("::", 1)[1]
        kids = children[component["urn"]]
        counts = Counter(k["type"] for k in kids if counted(k))
        lines.append(f"{indent}{name} ({component['type']}): {sum(counts.values())} resources")
        for type_, count in sorted(counts.items()):
            lines.append(f"{indent}    {count:>3} x {type_}")
        for kid in sorted((k for k in kids if not counted(k)), key=lambda k: k["urn"]):
            walk(kid, indent + "  ")

    for root in children[""]:
        if not root["custom"]:
            walk(root, "")
    custom = sum(1 for r in resources if counted(r))
    lines.append(
        f"{custom} resources and {len(resources) - custom} components, the stack included "
        f"({len(resources)} entries in the plan, as the review counts them)"
    )
    generic = Counter(r["type"] for r in resources if r["custom"] and cloud.is_generic(r["type"]))
    if generic:
        lines.append(
            f"{sum(generic.values())} resource(s) have no fake of their own: inputs as sent, ids and "
            f"computed outputs made up by the generic fake ({', '.join(sorted(generic))})"
        )
    opt_in = sorted(
        {
            r["inputs"].get("region")
            for r in resources
            if r["type"] == "pulumi:providers:aws"
            and regions.REGIONS.get(str(r["inputs"].get("region")), regions.REGIONS["us-east-1"]).opt_in
        }
    )
    lines += [
        f"{code} is an opt-in Region: enable it for the account first (aws account enable-region --region-name {code})"
        for code in opt_in
    ]
    lines += [
        kubernetes_support({**r.get("outputs", {}), **r["inputs"]}, today or datetime.datetime.now(datetime.UTC).date())
        for r in resources
        if r["type"] == EKS_CLUSTER_TYPE
    ]
    lines.append("Outputs:")
    for key, value in sorted(stack.get("outputs", {}).items()):
        shown = (
            "[secret]"
            if isinstance(value, dict) and value.get(SPECIAL_SIG) == SECRET_SIG
            else json.dumps(_shown(value)).replace(json.dumps(KNOWN_AFTER_CREATE), KNOWN_AFTER_CREATE)
        )
        lines.append(f"    {key}: {shown}")
    return "\n".join(lines)
