"""IrsaRole: an IAM role that exactly one Kubernetes service account can assume.

The trust policy pins the cluster's OIDC provider, the service account's
namespace and name (`:sub`, no wildcards) and the STS audience (`:aud`), so a
pod of another namespace, another service account or another cluster gets
nothing. Optionally the ServiceAccount itself is created with the role's ARN
annotation, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from gpu_platform.components import iam
from gpu_platform.components.labels import CostLabels

STS_AUDIENCE = "sts.amazonaws.com"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"


def web_identity_trust(provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> str:
    """A trust policy for one service account of one namespace, through one OIDC provider."""
    issuer = issuer_url.removeprefix("https://")
    return iam.document(
        {
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                    f"{issuer}:aud": STS_AUDIENCE,
                }
            },
        }
    )


@dataclass(frozen=True)
class OidcProvider:
    """The cluster's IAM OIDC provider, as IRSA trust policies name it."""

    arn: pulumi.Input[str]
    issuer_url: pulumi.Input[str]


@dataclass(frozen=True)
class ServiceAccountBinding:
    """Who may assume the role: one service account of one namespace."""

    namespace: str
    name: str
    # Create the ServiceAccount (annotated with the role ARN) through this provider; None: it exists elsewhere.
    kubernetes: k8s.Provider | None = None
    labels: dict[str, str] = field(default_factory=dict)
    namespace_resource: pulumi.Resource | None = None  # the Namespace object, when this program creates it


class IrsaRole(pulumi.ComponentResource):
    """An IAM role for one Kubernetes service account (IRSA)."""

    role: aws.iam.Role
    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        oidc: OidcProvider,
        binding: ServiceAccountBinding,
        labels: CostLabels,
        managed_policy_arns: tuple[str, ...] = (),
        statements: pulumi.Input[tuple[iam.Statement, ...]] | None = None,
        description: str = "",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("gpu-platform:index:IrsaRole", name, None, opts)
        self.name = name
        child = pulumi.ResourceOptions(parent=self)
        trust = pulumi.Output.all(oidc.arn, oidc.issuer_url).apply(
            lambda a: web_identity_trust(a[0], a[1], binding.namespace, binding.name)
        )
        self.role = aws.iam.Role(
            name,
            assume_role_policy=trust,
            description=description or f"IRSA for {binding.namespace}/{binding.name}",
            max_session_duration=3600,
            tags=labels.aws_tags(name),
            opts=child,
        )
        for i, policy_arn in enumerate(managed_policy_arns):
            aws.iam.RolePolicyAttachment(f"{name}-managed-{i}", role=self.role.name, policy_arn=policy_arn, opts=child)
        if statements is not None:
            aws.iam.RolePolicy(
                f"{name}-inline",
                role=self.role.id,
                opts=child,
                policy=pulumi.Output.from_input(statements).apply(lambda s: iam.document(*s)),
            )
        if binding.kubernetes is not None:
            k8s.core.v1.ServiceAccount(
                name,
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=binding.name,
                    namespace=binding.namespace,
                    labels=binding.labels,
                    annotations={ROLE_ARN_ANNOTATION: self.role.arn},
                ),
                automount_service_account_token=True,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    provider=binding.kubernetes,
                    depends_on=[r for r in (binding.namespace_resource,) if r is not None],
                ),
            )
        self.arn = self.role.arn
        self.register_outputs({"roleArn": self.arn})
