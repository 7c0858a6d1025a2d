"""Run one rule of the pack on realistic resources, as the analyzer server would, and collect its messages.

Properties go through pulumi_policy's own deserializer and unknown-checking
proxy, so a rule sees exactly what it sees under `pulumi preview`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import PolicyCustomTimeouts
from pulumi_policy.proxy import unknown_checking_proxy

STACK = "prod"
PROJECT = "gpu-platform"


def urn(type_: str, name: str, stack: str = STACK) -> str:
    return f"urn:pulumi:{stack}::{PROJECT}::{type_}::{name}"


@dataclass
class R:
    """A resource to judge: type, name, properties, and what the engine knows besides."""

    type: str
    name: str
    props: dict[str, Any]
    protect: bool = False
    stack: str = STACK
    depends_on: dict[str, list[str]] = field(default_factory=dict)  # property -> names of resources
    region: str | None = None  # the region of the resource's AWS provider, as the engine sends its inputs

    @property
    def urn(self) -> str:
        return urn(self.type, self.name, self.stack)

    def but(self, **changes: Any) -> R:
        """A copy with dotted property paths set (None removes the key): r.but(**{"tags.product": None})."""
        props = copy.deepcopy(self.props)
        protect = changes.pop("protect", self.protect)
        region = changes.pop("region", self.region)
        for path, value in changes.items():
            *parents, last = path.split(".")
            node = props
            for part in parents:
                node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
            if isinstance(node, list):
                node[int(last)] = value
            elif value is None:
                node.pop(last, None)
            else:
                node[last] = value
        return R(self.type, self.name, props, protect, self.stack, self.depends_on, region)


def _options(r: R) -> PolicyResourceOptions:
    return PolicyResourceOptions(r.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def _provider(r: R) -> PolicyProviderResource | None:
    if r.region is None:
        return None
    return PolicyProviderResource(
        "pulumi:providers:aws", {"region": r.region}, urn("pulumi:providers:aws", "aws"), "aws"
    )


def _props(r: R):
    return unknown_checking_proxy(deserialize_properties(copy.deepcopy(r.props)))


def judge(policy, resources: list[R], config: dict[str, Any] | None = None) -> list[str]:
    """Messages the rule reports: `<message>` for a resource rule, `<resource name>: ...` as the rule writes it."""
    messages: list[str] = []
    urns_of: dict[str, set[str]] = {}
    for r in resources:
        urns_of.setdefault(r.name, set()).add(r.urn)

    def report(message: str, urn_: str | None = None) -> None:
        messages.append(message)
        # A stack rule's finding about a resource is attached to it: the CLI lists it under that resource and the
        # review's SARIF and comment point at it. A resource rule's findings are attached by the engine.
        # "<name>", "team namespace <name>" or "<name> (launch template of GPU pool <pool>)"
        subject = message.split(": ", 1)[0].split(" (", 1)[0]
        named = next((n for n in urns_of if subject == n or subject.endswith(f" {n}")), None)
        if isinstance(policy, StackValidationPolicy) and named is not None:
            assert urn_ in urns_of[named], (
                f"{message!r} is attached to {urn_}, not to {named} ({sorted(urns_of[named])})"
            )

    if isinstance(policy, ResourceValidationPolicy):
        for r in resources:
            policy.validate(ResourceValidationArgs(r.type, _props(r), r.urn, r.name, _options(r), None, config), report)
        return messages
    judged = {
        r.urn: PolicyResource(r.type, _props(r), r.urn, r.name, _options(r), _provider(r), None, [], {})
        for r in resources
    }
    for r in resources:
        for prop, names in r.depends_on.items():  # by name, among the other resources
            deps = [judged[o.urn] for o in resources if o.name in names and o.urn != r.urn]
            judged[r.urn].property_dependencies[prop] = deps
            judged[r.urn].dependencies.extend(deps)
    policy.validate(StackValidationArgs(list(judged.values()), config), report)
    return messages
