"""What AWS refuses: the strict half of the offline cloud, one module per service.

A real `pulumi up` sends each resource to AWS, and AWS (or the provider's schema validation before it)
refuses requests that break its rules. Offline nothing is sent, so these rules stand in for AWS: each
refusal names the resource, the rule and where the rule is written down, in one line. Values not
known yet (a first preview) are not judged. Limits that are quotas say so: they hold for a new account
and can be raised, so a refusal says to raise them first.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gpu_platform.offline.wire import SECRET_SIG, SPECIAL_SIG, UNKNOWN


@dataclass(frozen=True)
class Request:
    """One resource as AWS would receive it; `find` looks up another resource of the plan by type and id."""

    urn: str
    type: str
    id: str
    inputs: dict[str, Any]
    default_tags: dict[str, Any]
    find: Callable[[str, str], Request | None]


@dataclass(frozen=True)
class Rule:
    """A rule about one request (`check`), or about several together (`check_plan`, e.g. a quota per group)."""

    name: str
    source: str
    types: tuple[str, ...] = ()
    check: Callable[[Request], Iterable[str]] | None = None
    check_plan: Callable[[list[Request]], Iterable[tuple[str, str]]] | None = None


RULES: list[Rule] = []


def rule(name: str, source: str, *types: str) -> Callable[[Callable[[Request], Iterable[str]]], Any]:
    """A rule about each request of `types` (all AWS types when none are named)."""

    def register(check: Callable[[Request], Iterable[str]]) -> Callable[[Request], Iterable[str]]:
        RULES.append(Rule(name, source, types, check=check))
        return check

    return register


def plan_rule(name: str, source: str) -> Callable[[Callable[[list[Request]], Iterable[tuple[str, str]]]], Any]:
    """A rule about the plan's requests together; it yields (URN, message)."""

    def register(check: Callable[[list[Request]], Iterable[tuple[str, str]]]) -> Any:
        RULES.append(Rule(name, source, check_plan=check))
        return check

    return register


def known(value: Any) -> bool:
    """A value the engine knows: not unknown, nor holding anything unknown."""
    if isinstance(value, dict):
        return all(known(v) for v in value.values())
    if isinstance(value, list):
        return all(known(v) for v in value)
    return bool(value != UNKNOWN)


def plain(value: Any) -> Any:
    """Secrets unwrapped: AWS sees the value."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG) == SECRET_SIG:
            return plain(value.get("value"))
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def length(name: str, value: Any, low: int, high: int) -> Iterator[str]:
    if isinstance(value, str) and known(value) and not low <= len(value) <= high:
        yield f"{name} {value!r} is {len(value)} characters; AWS takes {low} to {high}"


def named(what: str, value: Any, low: int, high: int, pattern: str | re.Pattern[str], explain: str) -> Iterator[str]:
    """A name (or description) AWS takes only at its length and in its characters: `<what> <value> <explain>`."""
    yield from length(what, value, low, high)
    if isinstance(value, str) and known(value) and not re.fullmatch(pattern, value):
        yield f"{what} {value!r} {explain}"


def compact_json(document: Any) -> str | None:
    """A policy document as the provider sends it: JSON without white space (structure.NormalizeJsonString in
    terraform-provider-aws); a document that is no JSON as it is."""
    if not isinstance(document, str) or not known(document):
        return None
    try:
        return json.dumps(json.loads(document), separators=(",", ":"))
    except ValueError:
        return document


def policy_size(document: Any) -> int | None:
    """IAM counts a policy's characters without white space."""
    if not isinstance(document, str) or not known(document):
        return None
    return len(re.sub(r"\s", "", document))


def refusal(rule_: Rule, urn: str, message: str) -> str:
    return f"{urn}: {rule_.name}: {message} [{rule_.source}]"


def _default_tags(provider: dict[str, Any]) -> dict[str, Any]:
    """A provider's `defaultTags.tags`; the engine sends provider config objects as JSON strings."""
    value = provider.get("defaultTags")
    if isinstance(value, str) and known(value):
        value = json.loads(value)
    tags = value.get("tags") if isinstance(value, dict) else None
    return tags if isinstance(tags, dict) else {}


def refusals(resources: Iterable[Any]) -> list[str]:
    """Every refusal AWS would give the plan's AWS resources (engine `Resource`s), in plan order."""
    resources = list(resources)
    providers = {f"{r.urn}::{r.id}": plain(r.inputs) for r in resources if r.type.startswith("pulumi:providers:")}
    by_id: dict[tuple[str, str], Request] = {}
    requests: list[Request] = []
    for resource in resources:
        if not resource.custom or not resource.type.startswith("aws:"):
            continue
        request = Request(
            resource.urn,
            resource.type,
            resource.id,
            plain(resource.inputs),
            _default_tags(providers.get(resource.provider, {})),
            lambda type_, id_: by_id.get((type_, id_)),
        )
        requests.append(request)
        if resource.id:
            by_id[(resource.type, resource.id)] = request
    lines: list[str] = []
    for request in requests:
        for rule_ in RULES:
            if rule_.check is not None and (not rule_.types or request.type in rule_.types):
                lines += [refusal(rule_, request.urn, m) for m in rule_.check(request)]
    for rule_ in RULES:
        if rule_.check_plan is not None:
            lines += [refusal(rule_, urn, m) for urn, m in rule_.check_plan(requests)]
    return lines


# Each service's module registers its rules when imported.
SERVICES = ("tags", "ec2", "eks", "iam", "kms", "logs", "s3")
for _service in SERVICES:
    importlib.import_module(f"{__name__}.{_service}")

RULE_BY_NAME = {r.name: r for r in RULES}
