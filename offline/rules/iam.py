"""IAM: names, policy sizes, ARNs."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from gpu_platform.offline.rules import Request, known, length, named, plain, plan_rule, policy_size, rule

QUOTAS = "docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"
ARNS = "docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html"

_IAM_NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)  # IAM names are ASCII
_IAM_NAME_CHARACTERS = "may hold only letters, digits and + = , . @ _ -"


@rule("iam-role", QUOTAS, "aws:iam/role:Role")
def _iam_role(request: Request) -> Iterator[str]:
    name, path = request.inputs.get("name"), request.inputs.get("path")
    yield from named("role name", name, 1, 64, _IAM_NAME, _IAM_NAME_CHARACTERS)
    if isinstance(path, str) and known(path) and not re.fullmatch(r"/|/[\x21-\x7e]+/", path):
        yield f"role path {path!r} must start and end with '/'"
    size = policy_size(plain(request.inputs.get("assumeRolePolicy")))
    if size is not None and size > 2048:
        yield (
            f"trust policy of {size} characters (without white space) is over the quota of 2,048 "
            "(role trust policy length, adjustable to 8,192)"
        )


@rule("iam-role-policy", QUOTAS, "aws:iam/rolePolicy:RolePolicy")
def _iam_role_policy(request: Request) -> Iterator[str]:
    name = request.inputs.get("name")
    yield from length("inline policy name", name, 1, 128)
    if isinstance(name, str) and known(name) and re.search(r"[\\/*? ]", name):
        yield f"inline policy name {name!r} holds one of \\ / * ? or a space, which IAM reserves"


@plan_rule("iam-role-inline-policies", f"{QUOTAS} (role policy size, 10,240 characters for all inline policies)")
def _inline_policies_per_role(requests: list[Request]) -> Iterator[tuple[str, str]]:
    """A role's inline policies, in `inlinePolicies` and as RolePolicy resources, count together."""
    roles = {r.inputs.get("name"): r for r in requests if r.type == "aws:iam/role:Role"}
    sizes: dict[str, list[int | None]] = defaultdict(list)
    for role in roles.values():
        for inline in role.inputs.get("inlinePolicies") or []:
            if isinstance(inline, dict):
                sizes[role.urn].append(policy_size(plain(inline.get("policy"))))
    for request in requests:
        owner = roles.get(request.inputs.get("role")) if request.type == "aws:iam/rolePolicy:RolePolicy" else None
        if owner is not None:
            sizes[owner.urn].append(policy_size(plain(request.inputs.get("policy"))))
    for urn, found in sizes.items():
        total = sum(s or 0 for s in found)
        if total > 10240:
            yield (
                urn,
                (
                    f"inline policies of {total} characters together (without white space); IAM takes at most "
                    "10,240 per role"
                ),
            )


@rule("iam-policy", QUOTAS, "aws:iam/policy:Policy")
def _iam_policy(request: Request) -> Iterator[str]:
    yield from named("policy name", request.inputs.get("name"), 1, 128, _IAM_NAME, _IAM_NAME_CHARACTERS)
    size = policy_size(plain(request.inputs.get("policy")))
    if size is not None and size > 6144:
        yield f"managed policy of {size} characters (without white space); IAM takes at most 6,144"


_POLICY_ARN = re.compile(
    r"arn:aws(-cn|-us-gov|-iso|-iso-[a-z])?:iam::(aws|\d{12}):policy/([\x21-\x7e]*/)?[\w+=,.@-]+", re.ASCII
)


@rule("iam-policy-arn", ARNS, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
def _policy_arn(request: Request) -> Iterator[str]:
    value = request.inputs.get("policyArn")
    if isinstance(value, str) and known(value) and not _POLICY_ARN.fullmatch(value):
        yield f"policyArn {value!r} is not an IAM policy ARN (arn:<partition>:iam::<account or aws>:policy/<name>)"
