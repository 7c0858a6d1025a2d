"""Realistic resources in the shapes the platform registers (inputs, camelCase), compliant as built here."""

from __future__ import annotations

import json

from tests.policy_harness import R

COST = {"cost-center": "ml-platform", "product": "inference", "environment": "prod"}
BUCKET = "gpu-platform-prod-data-123456789012-us-east-1"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/2E231EC027CCE8FD27B908953BF668EE"
OIDC_ARN = f"arn:aws:iam::123456789012:oidc-provider/{ISSUER}"
MIG = "nvidia.com/mig-1g.10gb"


def bucket(name: str = "data", protect: bool = True) -> R:
    return R(
        "aws:s3/bucket:Bucket",
        name,
        {"bucket": BUCKET, "forceDestroy": False, "tags": {**COST, "Name": name}},
        protect=protect,
    )


def https_only_policy(bucket_name: str = BUCKET) -> str:
    arn = f"arn:aws:s3:::{bucket_name}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [arn, f"{arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


def bucket_policy(policy: str | None = None) -> R:
    return R("aws:s3/bucketPolicy:BucketPolicy", "data", {"bucket": BUCKET, "policy": policy or https_only_policy()})


def public_access_block() -> R:
    return R(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "data",
        {
            "bucket": BUCKET,
            "blockPublicAcls": True,
            "blockPublicPolicy": True,
            "ignorePublicAcls": True,
            "restrictPublicBuckets": True,
        },
    )


def encryption() -> R:
    return R(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "data",
        {
            "bucket": BUCKET,
            "rules": [
                {
                    "applyServerSideEncryptionByDefault": {
                        "sseAlgorithm": "aws:kms",
                        "kmsMasterKeyId": "arn:aws:kms:us-east-1:123456789012:key/k",
                    },
                    "bucketKeyEnabled": True,
                }
            ],
        },
    )


def storage() -> list[R]:
    return [bucket(), bucket_policy(), public_access_block(), encryption()]


def kms_key(protect: bool = True) -> R:
    return R("aws:kms/key:Key", "key", {"enableKeyRotation": True, "tags": {**COST, "Name": "key"}}, protect=protect)


def irsa_role(
    sub: str = "system:serviceaccount:inference:model-server",
    aud: str | None = "sts.amazonaws.com",
    operator: str = "StringEquals",
) -> R:
    condition = {operator: {f"{ISSUER}:sub": sub}}
    if aud is not None:
        condition.setdefault("StringEquals", {})[f"{ISSUER}:aud"] = aud
    return R(
        "aws:iam/role:Role",
        "model-server",
        {
            "assumeRolePolicy": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Federated": OIDC_ARN},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": condition,
                        }
                    ],
                }
            ),
            "tags": {**COST, "Name": "model-server"},
        },
    )


def launch_template(name: str = "h100-mig", workload_type: str | None = "inference") -> R:
    tags = {**COST, "Name": name, **({"workload-type": workload_type} if workload_type else {})}
    return R(
        "aws:ec2/launchTemplate:LaunchTemplate",
        name,
        {
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
            "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true", "volumeSize": 500}}],
            "tagSpecifications": [
                {"resourceType": kind, "tags": dict(tags)} for kind in ("instance", "volume", "network-interface")
            ],
            "tags": dict(tags),
        },
    )


def node_group(pool: str = "h100-mig", advertised: str = f"{MIG}=56", taint: bool = True) -> R:
    return R(
        "aws:eks/nodeGroup:NodeGroup",
        pool,
        {
            "instanceTypes": ["p5.48xlarge"],
            "amiType": "AL2023_x86_64_NVIDIA",
            "capacityType": "ON_DEMAND",
            "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 4},
            "labels": {"gpu-platform.io/pool": pool, "workload-type": "inference"},
            "taints": [{"key": "nvidia.com/gpu", "value": pool, "effect": "NO_SCHEDULE"}] if taint else [],
            "launchTemplate": {"id": f"lt-{pool}", "version": "1"},
            "tags": {
                **COST,
                "Name": pool,
                "workload-type": "inference",
                "gpu-platform/advertised-resources": advertised,
            },
        },
        depends_on={"launchTemplate": [pool]},
    )


def system_node_group() -> R:
    return R(
        "aws:eks/nodeGroup:NodeGroup",
        "system",
        {
            "instanceTypes": ["m7i.xlarge"],
            "labels": {"gpu-platform.io/system": "true"},
            "tags": {**COST, "Name": "system"},
        },
    )


def cluster(**inputs) -> R:
    """The EKS cluster as pulumi-eks registers it (its component reaches the analyzer without inputs)."""
    return R(
        "aws:eks/cluster:Cluster",
        "cluster",
        {
            "vpcConfig": {"endpointPrivateAccess": True, "endpointPublicAccess": False, "publicAccessCidrs": []},
            "encryptionConfig": {
                "provider": {"keyArn": "arn:aws:kms:us-east-1:123456789012:key/secrets"},
                "resources": ["secrets"],
            },
            "accessConfig": {"authenticationMode": "API"},
            "tags": {**COST, "Name": "cluster"},
            **inputs,
        },
    )


def deployment(pool: str = "h100-mig", resource: str = MIG, count: int = 1, kind: str = "Deployment") -> R:
    pod = {
        "metadata": {"labels": {**COST, "workload-type": "inference", "app": "llm"}},
        "spec": {
            "nodeSelector": {"gpu-platform.io/pool": pool},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": pool, "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "server",
                    "image": "vllm/vllm-openai:v0.6.3",
                    "resources": {
                        "requests": {"cpu": "8", "memory": "64Gi", resource: count},
                        "limits": {"memory": "64Gi", resource: count},
                    },
                }
            ],
        },
    }
    types = {
        "Deployment": "kubernetes:apps/v1:Deployment",
        "Job": "kubernetes:batch/v1:Job",
        "CronJob": "kubernetes:batch/v1:CronJob",
        "Pod": "kubernetes:core/v1:Pod",
    }
    spec = {
        "Deployment": {"replicas": 2, "template": pod},
        "Job": {"template": pod},
        "CronJob": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": pod}}},
    }
    if kind == "Pod":
        return R(types[kind], "llm", {"metadata": pod["metadata"], "spec": pod["spec"]})
    return R(types[kind], "llm", {"metadata": {"name": "llm", "namespace": "inference"}, "spec": spec[kind]})


def gpu_stack() -> list[R]:
    return [launch_template(), node_group(), system_node_group(), deployment()]


def team(name: str = "search", pools: str = "h100-mig") -> list[R]:
    """A team as components/tenancy.py builds it: its pool's node group, namespace, quota, defaults, deny."""
    meta = {"namespace": name, "labels": {**COST, "gpu-platform.io/team": name}}
    return [
        node_group(pools),  # 56 MIG slices a node, maxSize 4: 224
        R(
            "kubernetes:core/v1:Namespace",
            name,
            {
                "metadata": {
                    "name": name,
                    "labels": {**COST, "gpu-platform.io/team": name},
                    "annotations": {"gpu-platform.io/gpu-pools": pools},
                }
            },
        ),
        R(
            "kubernetes:core/v1:ResourceQuota",
            f"{name}-quota",
            {"metadata": {**meta, "name": "team-quota"}, "spec": {"hard": {f"requests.{MIG}": "28", "pods": "50"}}},
        ),
        R(
            "kubernetes:core/v1:LimitRange",
            f"{name}-defaults",
            {
                "metadata": {**meta, "name": "container-defaults"},
                "spec": {"limits": [{"type": "Container", "default": {"cpu": "1"}}]},
            },
        ),
        R(
            "kubernetes:networking.k8s.io/v1:NetworkPolicy",
            f"{name}-default-deny",
            {
                "metadata": {**meta, "name": "default-deny"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            },
        ),
    ]
