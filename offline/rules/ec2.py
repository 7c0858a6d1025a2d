"""EC2: launch templates and security groups."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from gpu_platform.offline.rules import Request, known, length, named, plan_rule, rule

CREATE_LAUNCH_TEMPLATE = "docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateLaunchTemplate.html"
CREATE_SECURITY_GROUP = "docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html"
VPC_QUOTAS = "docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html (security groups)"


@rule("launch-template-name", CREATE_LAUNCH_TEMPLATE, "aws:ec2/launchTemplate:LaunchTemplate")
def _launch_template_name(request: Request) -> Iterator[str]:
    yield from named(
        "launch template name",
        request.inputs.get("name"),
        3,
        128,
        r"[a-zA-Z0-9().\-/_]+",
        "may hold only letters, digits and ( ) . - / _",
    )


@rule("security-group", CREATE_SECURITY_GROUP, "aws:ec2/securityGroup:SecurityGroup")
def _security_group(request: Request) -> Iterator[str]:
    name, description = request.inputs.get("name"), request.inputs.get("description")
    yield from length("security group name", name, 1, 255)
    if isinstance(name, str) and known(name) and name.startswith("sg-"):
        yield f"security group name {name!r} starts with 'sg-', which EC2 refuses"
    yield from named(
        "security group description",
        description,
        0,
        255,
        r"[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]*",
        "may hold only letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*",
    )


_SG_RULE_DIRECTION = {
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": "ingress",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": "egress",
}


def _families(rule_: dict[str, Any]) -> Counter[str]:
    """How many rules one entry makes per address family: one per CIDR, and a rule that references a security
    group (or itself) or a prefix list counts for IPv4 and IPv6 alike."""
    count: Counter[str] = Counter()
    count["IPv4"] += len(rule_.get("cidrBlocks") or []) + (1 if rule_.get("cidrIpv4") else 0)
    count["IPv6"] += len(rule_.get("ipv6CidrBlocks") or []) + (1 if rule_.get("cidrIpv6") else 0)
    references = (
        len(rule_.get("securityGroups") or [])
        + len(rule_.get("prefixListIds") or [])
        + (1 if rule_.get("self") else 0)
        + sum(1 for k in ("referencedSecurityGroupId", "sourceSecurityGroupId", "prefixListId") if rule_.get(k))
    )
    count["IPv4"] += references
    count["IPv6"] += references
    return count


@plan_rule(
    "security-group-rules",
    f"{VPC_QUOTAS} (quota: inbound or outbound rules per security group, 60, counted separately for IPv4 and IPv6)",
)
def _rules_per_group(requests: list[Request]) -> Iterator[tuple[str, str]]:
    group_urn = {r.id: r.urn for r in requests if r.type == "aws:ec2/securityGroup:SecurityGroup" and r.id}
    counts: Counter[tuple[str, str, str]] = Counter()
    for request in requests:
        if request.type == "aws:ec2/securityGroup:SecurityGroup":
            for direction in ("ingress", "egress"):
                for entry in request.inputs.get(direction) or []:
                    for family, n in _families(entry if isinstance(entry, dict) else {}).items():
                        counts[(request.urn, direction, family)] += n
        rule_direction = _SG_RULE_DIRECTION.get(request.type) or (
            request.inputs.get("type") if request.type == "aws:ec2/securityGroupRule:SecurityGroupRule" else None
        )
        group = request.inputs.get("securityGroupId")
        if rule_direction and isinstance(group, str) and known(group):
            for family, n in _families(request.inputs).items():
                counts[(group_urn.get(group, group), rule_direction, family)] += n
    for (group, direction, family), count in counts.items():
        if count > 60:
            yield group, f"{count} {family} {direction} rules; the quota is 60 per security group (raise it first)"
