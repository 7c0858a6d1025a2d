"""How the rules read resources: tags, pod specs, GPU pools, policy documents, config with defaults.

Properties reach a rule through pulumi_policy's proxies, which are `Mapping` and
`Sequence` but not `dict` and `list`: every helper here checks the ABCs.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from fractions import Fraction
from functools import cache
from typing import Any

from pulumi_policy.proxy import UnknownValueError

# Kubernetes -------------------------------------------------------------------

GPU_POOL_LABEL = "gpu-platform.io/pool"
GPU_RESOURCE = "nvidia.com/gpu"
MIG_RESOURCE_PREFIX = "nvidia.com/mig-"
ADVERTISED_TAG = "gpu-platform/advertised-resources"
# On a namespace: the GPU pools its workloads may use, comma-separated (a team's, or the inference namespace's).
POOLS_ANNOTATION = "gpu-platform.io/gpu-pools"
NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"

# type token -> path from the resource's properties to its pod spec's metadata+spec holder.
WORKLOAD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "kubernetes:core/v1:Pod": (),
    "kubernetes:apps/v1:Deployment": ("spec", "template"),
    "kubernetes:apps/v1:StatefulSet": ("spec", "template"),
    "kubernetes:apps/v1:DaemonSet": ("spec", "template"),
    "kubernetes:apps/v1:ReplicaSet": ("spec", "template"),
    "kubernetes:batch/v1:Job": ("spec", "template"),
    "kubernetes:batch/v1:CronJob": ("spec", "jobTemplate", "spec", "template"),
}
WORKLOAD_TYPES = tuple(WORKLOAD_TEMPLATE_PATHS)

# AWS and pulumi-eks ---------------------------------------------------------------

NODE_GROUP_TYPES = ("aws:eks/nodeGroup:NodeGroup",)  # as the engine shows it, pulumi-eks's child or the platform's own
LAUNCH_TEMPLATE_TYPE = "aws:ec2/launchTemplate:LaunchTemplate"
BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
# pulumi-eks components take `tags` but are not pulumi_aws classes.
# pulumi-eks's components (eks:index:*) reach the analyzer with empty inputs: its provider registers them from
# inside Construct with @pulumi/pulumi 3.173, and component inputs are sent only since pulumi/pulumi#20357
# (v3.202). Their children (aws:eks/cluster:Cluster, roles, access entries, add-ons) are analyzed one by one,
# so rules judge those and no rule reads a component's inputs.


def is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def dig(value: Any, *path: str) -> Any:
    """The value at `path` inside nested mappings, or None where a step is missing."""
    for key in path:
        if not is_mapping(value) or key not in value:
            return None
        value = value[key]
    return value


def mapping(value: Any) -> Mapping[str, Any]:
    return value if is_mapping(value) else {}


def known(props: Mapping[str, Any], key: str) -> Any:
    """A property only a created resource has (an id, an autoname), or None where a preview cannot know it yet;
    for a rule that has another way to the same answer (a dependency), so it need not skip the whole check."""
    try:
        return props.get(key)
    except UnknownValueError:
        return None


def items(value: Any) -> list[Any]:
    return list(value) if is_list(value) else []


def stack_of(urn: str) -> str:
    """The stack a URN belongs to: `urn:pulumi:<stack>::<project>::<type>::<name>`; "" for what is no URN."""
    return urn.split(":")[2] if urn.count("::") >= 3 else ""


def setting(args: Any, schema: Mapping[str, Mapping[str, Any]], key: str) -> Any:
    """A config property of the policy, or its schema default (the engine fills defaults; direct calls may not)."""
    config = args.get_config() or {}
    return config[key] if key in config else schema[key]["default"]


# Tags -----------------------------------------------------------------------------


_IMPORTS = threading.Lock()


@cache
def takes_tags(type_token: str) -> bool:
    """Whether resources of this type accept `tags`: pulumi_aws's own class signature says so.

    The analyzer serves requests on several threads; one import at a time, or a
    thread may see a module another thread is still initialising.
    """
    package, _, rest = type_token.partition(":")
    if package != "aws" or "/" not in rest:
        return False
    module_name, class_name = rest.split("/", 1)[0], rest.rsplit(":", 1)[-1]
    try:
        with _IMPORTS:
            module = importlib.import_module("pulumi_aws" if module_name == "index" else f"pulumi_aws.{module_name}")
            cls = getattr(module, class_name)
    except (ImportError, AttributeError):
        return False
    init = getattr(cls, "_internal_init", None)
    return init is not None and "tags" in inspect.signature(init).parameters


def missing_keys(tags: Any, keys: Sequence[str]) -> list[str]:
    """Keys absent from `tags` or set to an empty value."""
    tags = mapping(tags)
    return [k for k in keys if not (isinstance(tags.get(k), str) and tags.get(k).strip())]


# Kubernetes workloads ---------------------------------------------------------------


def pod_template(type_token: str, props: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod template (metadata + spec) of a workload, or None for other types."""
    if type_token not in WORKLOAD_TEMPLATE_PATHS:
        return None
    return mapping(dig(props, *WORKLOAD_TEMPLATE_PATHS[type_token]))


def containers(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(name, container) of every init and app container."""
    for field in ("initContainers", "containers"):
        for i, container in enumerate(items(pod_spec.get(field))):
            container = mapping(container)
            yield str(container.get("name") or f"{field}[{i}]"), container


def is_gpu_resource(name: str) -> bool:
    return name == GPU_RESOURCE or name.startswith(MIG_RESOURCE_PREFIX)


def gpu_resources(container: Mapping[str, Any]) -> list[str]:
    """GPU resource names a container requests or limits, sorted."""
    resources = mapping(container.get("resources"))
    names = set(mapping(resources.get("requests"))) | set(mapping(resources.get("limits")))
    return sorted(n for n in names if is_gpu_resource(n))


# GPU pools --------------------------------------------------------------------------


def gpu_pool_name(props: Mapping[str, Any]) -> str | None:
    """The pool a node group belongs to (its `gpu-platform.io/pool` label), or None if not a GPU pool."""
    value = mapping(props.get("labels")).get(GPU_POOL_LABEL)
    return value if isinstance(value, str) and value else None


def advertised(tags: Any) -> dict[str, int]:
    """`gpu-platform/advertised-resources` ("name=count" pairs, space-separated) as a dict."""
    text = mapping(tags).get(ADVERTISED_TAG)
    result: dict[str, int] = {}
    for pair in (text or "").split() if isinstance(text, str) else []:
        name, _, count = pair.partition("=")
        result[name] = int(count) if count.isdigit() else 0
    return result


# Kubernetes quantities (k8s.io/apimachinery pkg/api/resource/quantity.go, suffix.go): a signed decimal, then
# a binary (Ki..Ei) or decimal (n, u, m, k..E) suffix or a decimal exponent (e3, E-2); surrounding spaces are
# trimmed, as the API server's JSON decoding does.
_QUANTITY = re.compile(r"([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+)|([KMGTPE]i|[numkMGTPE]))?")
_SUFFIX: dict[str | None, Fraction] = {
    None: Fraction(1),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    **{s: Fraction(1000**n) for n, s in enumerate("kMGTPE", 1)},
    **{f"{s}i": Fraction(1024**n) for n, s in enumerate("KMGTPE", 1)},
}
_LONGEST = 64  # characters or exponent digits: beyond, no count a quota holds (Kubernetes caps at 2^63-1)


def whole_count(value: Any) -> int | None:
    """A count written as a Kubernetes quantity ("8", "1k", "4000m", "1e3"; 8.0 as numbers cross the wire), or
    None where it is no whole, non-negative count (or no quantity, or one too long to be a count)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            return None
        amount = Fraction(value)
    else:
        match = _QUANTITY.fullmatch(str(value).strip())
        if match is None or len(match[0]) > _LONGEST or abs(int(match[3] or 0)) > _LONGEST:
            return None
        sign, number, exponent, suffix = match.groups()
        scale = Fraction(10) ** int(exponent) if exponent is not None else _SUFFIX[suffix]
        amount = Fraction(number) * scale * (-1 if sign == "-" else 1)
    return int(amount) if amount.denominator == 1 and amount >= 0 else None


def normal_effect(effect: Any) -> str:
    """Taint effects as Kubernetes writes them: EKS's NO_SCHEDULE is NoSchedule."""
    return {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}.get(
        str(effect), str(effect)
    )


# IAM policy documents -----------------------------------------------------------------


def policy_document(value: Any) -> Mapping[str, Any]:
    """A policy document given as JSON text or as an object; {} if it is neither."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return mapping(value)


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement")
    return [mapping(s) for s in (items(found) if is_list(found) else [found])] if found else []


def as_list(value: Any) -> list[Any]:
    return items(value) if is_list(value) else ([] if value is None else [value])


def pools_allowed(namespace_metadata: Mapping[str, Any]) -> list[str] | None:
    """The GPU pools a namespace's workloads may use (its gpu-platform.io/gpu-pools annotation), sorted; None
    where the namespace has no such annotation and so is no GPU namespace."""
    value = mapping(namespace_metadata.get("annotations")).get(POOLS_ANNOTATION)
    if not isinstance(value, str):
        return None
    return sorted({p for p in value.split(",") if p})


def launch_templates(resources: Iterable[Any]) -> dict[str, Any]:
    """Launch templates by id and by name (what a node group's launchTemplate input names)."""
    templates: dict[str, Any] = {}
    for r in resources:
        if r.resource_type == LAUNCH_TEMPLATE_TYPE:
            for key in (known(r.props, "id"), known(r.props, "name")):
                if isinstance(key, str) and key:
                    templates[key] = r
    return templates


def launch_template_of(node_group: Any, templates: Mapping[str, Any]) -> Any | None:
    """The launch template a node group uses: a dependency of its launchTemplate input, else by id or name.
    Where only ids or names could tell and a preview does not know them yet, None."""
    for dep in list(node_group.property_dependencies.get("launchTemplate", [])) + list(node_group.dependencies):
        if dep.resource_type == LAUNCH_TEMPLATE_TYPE:
            return dep
    ref = mapping(node_group.props.get("launchTemplate"))
    return templates.get(str(ref.get("id"))) or templates.get(str(ref.get("name")))
