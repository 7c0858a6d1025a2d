"""IRSA: a role trusted through an OIDC provider is assumable by one service account, for STS only."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

from .shapes import as_list, mapping, policy_document, statements

WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
ROLE_TYPE = "aws:iam/role:Role"


def _issuer(provider_arn: str) -> str | None:
    """`arn:aws:iam::<acct>:oidc-provider/<issuer>` -> `<issuer>` (None for other federations, e.g. SAML)."""
    _, marker, issuer = provider_arn.partition(":oidc-provider/")
    return issuer if marker else None


def _conditions(statement) -> dict[str, dict[str, list]]:
    """condition key -> operator -> values."""
    found: dict[str, dict[str, list]] = {}
    for operator, pairs in mapping(statement.get("Condition")).items():
        for key, values in mapping(pairs).items():
            found.setdefault(key, {})[operator] = as_list(values)
    return found


def problems(document) -> list[str]:
    result = []
    for s in statements(document):
        if s.get("Effect") != "Allow" or WEB_IDENTITY not in as_list(s.get("Action")):
            continue
        for provider in as_list(mapping(s.get("Principal")).get("Federated")):
            issuer = _issuer(str(provider))
            if issuer is None:
                continue
            conditions = _conditions(s)
            sub = conditions.get(f"{issuer}:sub", {})
            pinned = [v for op, values in sub.items() if op == "StringEquals" for v in values]
            if not sub:
                result.append(f"trust through {issuer} does not pin {issuer}:sub")
            elif (
                not pinned
                or any(op != "StringEquals" for op in sub)
                or any(not isinstance(v, str) or "*" in v or "?" in v for v in pinned)
            ):
                shown = ", ".join(f"{op} {v}" for op, values in sorted(sub.items()) for v in values)
                result.append(f"trust through {issuer} pins {issuer}:sub with a wildcard or pattern ({shown})")
            aud = conditions.get(f"{issuer}:aud", {})
            if not [v for op, values in aud.items() if op == "StringEquals" for v in values]:
                result.append(f"trust through {issuer} does not pin {issuer}:aud")
    return result


def _irsa_trust(args, report_violation) -> None:
    if args.resource_type != ROLE_TYPE:
        return
    for problem in problems(policy_document(args.props.get("assumeRolePolicy"))):
        report_violation(f"{args.name}: {problem}")


irsa_trust = ResourceValidationPolicy(
    name="irsa-trust",
    description=(
        "A role trusted through an OIDC provider pins <issuer>:sub to one service account with "
        "StringEquals (no wildcard) and <issuer>:aud to sts.amazonaws.com: build it with IrsaRole."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_irsa_trust,
)
