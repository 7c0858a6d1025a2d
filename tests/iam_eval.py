"""A small evaluator of IAM policy documents, for tests: does this request match, and how?

It follows AWS's documented evaluation logic for one policy: an explicit Deny
wins, then an Allow, else the request is implicitly denied. Statements match on
Principal, Action/NotAction, Resource and every Condition (all keys of all
operators must hold; several values of one key are ORed; a missing key fails
every operator but the ...IfExists ones). Only the condition operators the
platform's policies use are implemented; any other raises, so a test never
passes on an operator it does not understand. No library on PyPI evaluates
conditions (moto's evaluation answers "denied" for a policy and its inverse
alike; see ../shared/reference/validators.md).
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from typing import Any

ALLOW, DENY, IMPLICIT_DENY = "Allow", "Deny", "ImplicitDeny"


@dataclass(frozen=True)
class Request:
    action: str
    resource: str = "*"
    principal: dict[str, str] = field(default_factory=dict)  # e.g. {"Federated": arn} or {"Service": ...}
    context: dict[str, Any] = field(default_factory=dict)  # condition keys and their values


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, case_sensitive: bool = True) -> bool:
    if not case_sensitive:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)


def _principal_matches(statement: dict, request: Request) -> bool:
    if "Principal" not in statement:
        return True  # identity policies have no principal
    principal = statement["Principal"]
    if principal == "*":
        return True
    return any(
        request.principal.get(kind) in _list(values) or "*" in _list(values) for kind, values in principal.items()
    )


def _action_matches(statement: dict, request: Request) -> bool:
    if "NotAction" in statement:
        return not any(_wildcard(a, request.action, False) for a in _list(statement["NotAction"]))
    return any(_wildcard(a, request.action, False) for a in _list(statement["Action"]))


def _resource_matches(statement: dict, request: Request) -> bool:
    if "Resource" not in statement:
        return True  # trust policies name no resource
    return any(_wildcard(r, request.resource) for r in _list(statement["Resource"]))


_OPERATORS = {
    "StringEquals": lambda want, got: str(got) == want,
    "StringNotEquals": lambda want, got: str(got) != want,
    "StringLike": lambda want, got: _wildcard(want, str(got)),
    "ArnEquals": lambda want, got: str(got) == want,
    "ArnLike": lambda want, got: _wildcard(want, str(got)),
    "Bool": lambda want, got: str(got).lower() == str(want).lower(),
    "NumericLessThan": lambda want, got: float(got) < float(want),
    "Null": None,  # judged on the key's presence, in _conditions_hold
}


def _conditions_hold(statement: dict, request: Request) -> bool:
    for operator, keys in statement.get("Condition", {}).items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        if base not in _OPERATORS:
            raise NotImplementedError(f"condition operator {operator} is not implemented by this evaluator")
        for key, wanted in keys.items():
            if base == "Null":  # "true": the key is absent from the request; "false": it is present
                if _list(wanted) != [str(key not in request.context).lower()]:
                    return False
                continue
            if key not in request.context:
                if if_exists:
                    continue
                return False
            if not any(_OPERATORS[base](w, request.context[key]) for w in _list(wanted)):
                return False
    return True


def decide(policy: str | dict, request: Request) -> str:
    """Allow, Deny (explicit) or ImplicitDeny, for one policy document."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    matched = [
        s
        for s in _list(document["Statement"])
        if _principal_matches(s, request)
        and _action_matches(s, request)
        and _resource_matches(s, request)
        and _conditions_hold(s, request)
    ]
    if any(s["Effect"] == DENY for s in matched):
        return DENY
    if any(s["Effect"] == ALLOW for s in matched):
        return ALLOW
    return IMPLICIT_DENY
