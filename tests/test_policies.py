"""Every rule of the pack, on realistic resources that pass and that fail, with the exact message.

A new rule's tests are a few rows of CASES: a rule, the resources, and the
messages it must report ([] for a pass).
"""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest

from policies import budget, gpu, iam, nodes, pack, prod, storage, tags, tenancy
from tests import policy_resources as res
from tests.policy_harness import R, judge


def with_resources(r: R, container: dict) -> R:
    """A workload whose first container has these resources."""
    r = copy.deepcopy(r)
    spec = r.props["spec"]
    template = (
        spec["template"] if "template" in spec else spec.get("jobTemplate", {}).get("spec", {}).get("template", r.props)
    )
    (template.get("spec", spec))["containers"][0]["resources"] = container
    return r


def pod_spec_change(r: R, **changes) -> R:
    r = copy.deepcopy(r)
    r.props["spec"]["template"]["spec"].update(changes)
    return r


MIG = res.MIG
CASES = [
    # cost-tags
    ("bucket with cost tags", tags.cost_tags, [res.bucket()], None, []),
    (
        "bucket without product",
        tags.cost_tags,
        [res.bucket().but(**{"tags.product": None})],
        None,
        ["data: tags missing or empty: product"],
    ),
    (
        "vpc with empty cost-center",
        tags.cost_tags,
        [R("aws:ec2/vpc:Vpc", "vpc", {"cidrBlock": "10.0.0.0/16", "tags": {**res.COST, "cost-center": ""}})],
        None,
        ["vpc: tags missing or empty: cost-center"],
    ),
    (
        "untaggable route is not judged",
        tags.cost_tags,
        [R("aws:ec2/route:Route", "r", {"routeTableId": "rtb-1", "destinationCidrBlock": "0.0.0.0/0"})],
        None,
        [],
    ),
    (
        "taggable subnet without any tags",
        tags.cost_tags,
        [R("aws:ec2/subnet:Subnet", "s", {"cidrBlock": "10.0.0.0/19"})],
        None,
        ["s: tags missing or empty: cost-center, product, environment"],
    ),
    (
        "GPU node group without workload-type",
        tags.cost_tags,
        [res.node_group().but(**{"tags.workload-type": None})],
        None,
        ["h100-mig: tags missing or empty: workload-type"],
    ),
    ("system node group needs no workload-type", tags.cost_tags, [res.system_node_group()], None, []),
    (
        "unknown workload-type",
        tags.cost_tags,
        [res.node_group().but(**{"tags.workload-type": "research"})],
        None,
        ["h100-mig: workload-type is 'research'; allowed: inference, training, batch"],
    ),
    (
        "configured required tag",
        tags.cost_tags,
        [res.bucket()],
        {"requiredTags": ["team"], "workloadTypes": []},
        ["data: tags missing or empty: team"],
    ),
    (
        "launch template instances without cost tags",
        tags.cost_tags,
        [res.launch_template().but(**{"tagSpecifications.0.tags": {"Name": "x"}})],
        None,
        ["h100-mig: tagSpecifications[instance] tags missing or empty: cost-center, product, environment"],
    ),
    # workload-labels
    ("deployment with the four labels", tags.workload_labels, [res.deployment()], None, []),
    ("cronjob with the four labels", tags.workload_labels, [res.deployment(kind="CronJob")], None, []),
    (
        "pod without environment label",
        tags.workload_labels,
        [res.deployment(kind="Pod").but(**{"metadata.labels.environment": None})],
        None,
        ["llm: pod template labels missing or empty: environment"],
    ),
    (
        "job with a workload-type not allowed",
        tags.workload_labels,
        [res.deployment(kind="Job").but(**{"spec.template.metadata.labels.workload-type": "fun"})],
        None,
        ["llm: pod template workload-type is 'fun'; allowed: inference, training, batch"],
    ),
    (
        "deployment with labels only on its metadata",
        tags.workload_labels,
        [res.deployment().but(**{"spec.template.metadata.labels": {"app": "llm"}})],
        None,
        ["llm: pod template labels missing or empty: cost-center, product, environment, workload-type"],
    ),
    # gpu-launch-template-tags
    ("GPU launch template carries workload-type", tags.gpu_launch_template_tags, res.gpu_stack(), None, []),
    (
        "a CPU node group's launch template need not carry workload-type",
        tags.gpu_launch_template_tags,
        [
            res.launch_template("system", workload_type=None),
            dataclasses.replace(res.system_node_group(), depends_on={"launchTemplate": ["system"]}),
        ],
        None,
        [],
    ),
    (
        "GPU launch template without workload-type",
        tags.gpu_launch_template_tags,
        [res.launch_template(workload_type=None), res.node_group()],
        None,
        [
            "h100-mig (launch template of GPU pool h100-mig): tags has no workload-type",
            "h100-mig (launch template of GPU pool h100-mig): tagSpecifications[instance] has no workload-type",
            "h100-mig (launch template of GPU pool h100-mig): tagSpecifications[volume] has no workload-type",
        ],
    ),
    (
        "a launch template whose workload-type is not its node group's",
        tags.gpu_launch_template_tags,
        [res.launch_template(workload_type="batch"), res.node_group()],
        None,
        [
            (
                "h100-mig (launch template of GPU pool h100-mig): tags workload-type is 'batch', its node group's is "
                "'inference'"
            ),
            (
                "h100-mig (launch template of GPU pool h100-mig): tagSpecifications[instance] workload-type is 'batch', "
                "its node group's is 'inference'"
            ),
            (
                "h100-mig (launch template of GPU pool h100-mig): tagSpecifications[volume] workload-type is 'batch', "
                "its node group's is 'inference'"
            ),
        ],
    ),
    (
        "a pool's launch template found by its id alone (a stack export keeps no dependency)",
        tags.gpu_launch_template_tags,
        [
            res.launch_template(workload_type=None).but(id="lt-h100-mig"),
            R(res.node_group().type, "h100-mig", res.node_group().props),
        ],
        None,
        [
            "h100-mig (launch template of GPU pool h100-mig): tags has no workload-type",
            "h100-mig (launch template of GPU pool h100-mig): tagSpecifications[instance] has no workload-type",
            "h100-mig (launch template of GPU pool h100-mig): tagSpecifications[volume] has no workload-type",
        ],
    ),
    (
        "a pool's launch template found by its name alone",
        tags.gpu_launch_template_tags,
        [
            res.launch_template(workload_type=None).but(name="lt-by-name"),
            R(
                res.node_group().type,
                "h100-mig",
                {**res.node_group().props, "launchTemplate": {"name": "lt-by-name", "version": "1"}},
            ),
        ],
        None,
        [
            "h100-mig (launch template of GPU pool h100-mig): tags has no workload-type",
            "h100-mig (launch template of GPU pool h100-mig): tagSpecifications[instance] has no workload-type",
            "h100-mig (launch template of GPU pool h100-mig): tagSpecifications[volume] has no workload-type",
        ],
    ),
    # gpu-requests-and-limits
    ("MIG request equals limit", gpu.gpu_requests_and_limits, [res.deployment()], None, []),
    (
        "GPU limit unequal to request",
        gpu.gpu_requests_and_limits,
        [
            with_resources(
                res.deployment(resource="nvidia.com/gpu"),
                {"requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": 1}, "limits": {"nvidia.com/gpu": 2}},
            )
        ],
        None,
        ["llm: container server: nvidia.com/gpu request 1 != limit 2"],
    ),
    (
        "MIG limit only, no cpu/memory requests",
        gpu.gpu_requests_and_limits,
        [with_resources(res.deployment(), {"limits": {MIG: 1}})],
        None,
        [f"llm: container server asks for {MIG} without cpu and memory requests"],
    ),
    (
        "GPU limit only: the request defaults to the limit",
        gpu.gpu_requests_and_limits,
        [
            with_resources(
                res.deployment(resource="nvidia.com/gpu"),
                {"requests": {"cpu": "8", "memory": "64Gi"}, "limits": {"nvidia.com/gpu": 2}},
            )
        ],
        None,
        [],
    ),
    (
        "GPU request without a limit",
        gpu.gpu_requests_and_limits,
        [
            with_resources(
                res.deployment(resource="nvidia.com/gpu"),
                {"requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": 1}},
            )
        ],
        None,
        ["llm: container server: nvidia.com/gpu request 1 has no limit; set limits nvidia.com/gpu: 1"],
    ),
    (
        "CPU-only container is not judged",
        gpu.gpu_requests_and_limits,
        [with_resources(res.deployment(), {"limits": {"cpu": "1"}})],
        None,
        [],
    ),
    # gpu-namespaces (its cases in both engines: policies/cases/gpu-namespaces.yaml)
    (
        "a team's server on its pool",
        gpu.gpu_namespaces,
        [*res.team("search"), res.deployment().but(**{"metadata.namespace": "search"})],
        None,
        [],
    ),
    (
        "a GPU workload in a namespace the stack does not make for GPU work",
        gpu.gpu_namespaces,
        [*res.team("search"), res.deployment().but(**{"metadata.namespace": "sandbox"})],
        None,
        [
            (
                f"llm: asks for {MIG} in namespace 'sandbox', which is not a GPU namespace "
                "(a team's or the platform's inference namespace)"
            )
        ],
    ),
    (
        "a team's server on a pool the team may not use",
        gpu.gpu_namespaces,
        [*res.team("search", pools="l40s"), res.deployment().but(**{"metadata.namespace": "search"})],
        None,
        ["llm: selects GPU pool 'h100-mig', which namespace 'search' may not use; it may use: l40s"],
    ),
    # gpu-budget (more in tests/test_cost.py)
    (
        "a stack within its GPU budget",
        budget.gpu_budget,
        [res.node_group().but(region="us-east-1")],
        {"maxGpus": 32},
        [],
    ),
    (
        "a stack over its GPU budget at maxSize",
        budget.gpu_budget,
        [res.node_group().but(region="us-east-1")],
        {"maxGpus": 16},
        [
            "GPUs at maxSize: 32 (h100-mig 32), 16 over the budget of 16: lower those pools' maxSize or raise gpu-budget.maxGpus"
        ],
    ),
    # gpu-placement
    ("workload on its pool", gpu.gpu_placement, res.gpu_stack(), None, []),
    (
        "a pool whose maxSize a first preview does not know still places workloads",
        gpu.gpu_placement,
        [
            r.but(**{"scalingConfig.maxSize": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}) if "nodeGroup" in r.type else r
            for r in res.gpu_stack()
        ],
        None,
        [],
    ),
    (
        "a CPU-only workload first does not stop the next workload being judged",
        gpu.gpu_placement,
        [
            res.node_group(),
            R(
                "kubernetes:apps/v1:Deployment",
                "api",
                {"spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}},
            ),
            pod_spec_change(res.deployment(), nodeSelector={}),
        ],
        None,
        [f"llm: asks for {MIG} but selects no GPU pool (nodeSelector gpu-platform.io/pool)"],
    ),
    (
        "workload without a pool selector",
        gpu.gpu_placement,
        [res.node_group(), pod_spec_change(res.deployment(), nodeSelector={})],
        None,
        [f"llm: asks for {MIG} but selects no GPU pool (nodeSelector gpu-platform.io/pool)"],
    ),
    (
        "workload on an unknown pool",
        gpu.gpu_placement,
        [res.node_group(), res.deployment(pool="a100")],
        None,
        ["llm: selects GPU pool 'a100', which no node group of this stack is; pools: h100-mig"],
    ),
    (
        "workload without the toleration",
        gpu.gpu_placement,
        [res.node_group(), pod_spec_change(res.deployment(), tolerations=[])],
        None,
        ["llm: does not tolerate the taint of GPU pool 'h100-mig' (nvidia.com/gpu=h100-mig:NoSchedule)"],
    ),
    (
        "workload tolerating every GPU pool",
        gpu.gpu_placement,
        [
            res.node_group(),
            res.node_group("l40s", "nvidia.com/gpu=8"),
            pod_spec_change(
                res.deployment(), tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
            ),
        ],
        None,
        ["llm: tolerates the taints of other GPU pools too: l40s"],
    ),
    (
        "a toleration with another effect does not tolerate the pool's NoSchedule taint",
        gpu.gpu_placement,
        [
            res.node_group(),
            pod_spec_change(
                res.deployment(),
                tolerations=[
                    {"key": "nvidia.com/gpu", "operator": "Equal", "value": "h100-mig", "effect": "NoExecute"}
                ],
            ),
        ],
        None,
        ["llm: does not tolerate the taint of GPU pool 'h100-mig' (nvidia.com/gpu=h100-mig:NoSchedule)"],
    ),
    (
        "an Exists toleration of another key does not tolerate the pool's taint",
        gpu.gpu_placement,
        [
            res.node_group(),
            pod_spec_change(
                res.deployment(), tolerations=[{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]
            ),
        ],
        None,
        ["llm: does not tolerate the taint of GPU pool 'h100-mig' (nvidia.com/gpu=h100-mig:NoSchedule)"],
    ),
    (
        "an Exists toleration with no key tolerates every taint, other pools' too",
        gpu.gpu_placement,
        [
            res.node_group(),
            res.node_group("l40s", "nvidia.com/gpu=8"),
            pod_spec_change(res.deployment(), tolerations=[{"operator": "Exists"}]),
        ],
        None,
        ["llm: tolerates the taints of other GPU pools too: l40s"],
    ),
    (
        "a GPU container behind a CPU sidecar is judged, and so is every workload after a CPU-only one",
        gpu.gpu_placement,
        [
            res.node_group(),
            R(
                "kubernetes:apps/v1:Deployment",
                "web",
                {"spec": {"template": {"spec": {"containers": [{"name": "web"}]}}}},
            ),
            pod_spec_change(
                res.deployment(),
                nodeSelector={},
                containers=[
                    {"name": "proxy", "image": "envoy"},
                    res.deployment().props["spec"]["template"]["spec"]["containers"][0],
                ],
            ),
        ],
        None,
        [f"llm: asks for {MIG} but selects no GPU pool (nodeSelector gpu-platform.io/pool)"],
    ),
    (
        "MIG profile of another pool",
        gpu.gpu_placement,
        [res.node_group(), res.deployment(resource="nvidia.com/mig-3g.40gb")],
        None,
        [
            (
                "llm: asks for nvidia.com/mig-3g.40gb, which GPU pool 'h100-mig' does not advertise "
                f"(it advertises {MIG}=56)"
            )
        ],
    ),
    # node-group-labels
    (
        "node groups with the platform's own labels",
        nodes.node_group_labels,
        [res.node_group(), res.system_node_group()],
        None,
        [],
    ),
    (
        "node groups with labels EKS refuses",
        nodes.node_group_labels,
        [
            res.node_group().but(
                labels={
                    "node.kubernetes.io/gpu-pool": "h100-mig",
                    "k8s.io/team": "a",
                    "eks.amazonaws.com/x": "b",
                    "kubernetes.io": "c",
                    "k8s.amazonaws.com/accelerator": "h100",
                }
            )
        ],
        None,
        [
            (
                "h100-mig: label eks.amazonaws.com/x has the reserved prefix eks.amazonaws.com/, which EKS refuses "
                "on node groups"
            ),
            "h100-mig: label k8s.io/team has the reserved prefix k8s.io/, which EKS refuses on node groups",
            (
                "h100-mig: label node.kubernetes.io/gpu-pool has the reserved prefix kubernetes.io/, which EKS refuses "
                "on node groups"
            ),
        ],
    ),
    # gpu-pool-taint
    ("GPU pool with its taint", nodes.gpu_pool_taint, [res.node_group()], None, []),
    (
        "GPU pool without a taint",
        nodes.gpu_pool_taint,
        [res.node_group(taint=False)],
        None,
        ["h100-mig: GPU pool 'h100-mig' has no NoSchedule taint"],
    ),
    (
        "GPU pool with only a PreferNoSchedule taint",
        nodes.gpu_pool_taint,
        [res.node_group().but(**{"taints.0.effect": "PREFER_NO_SCHEDULE"})],
        None,
        ["h100-mig: GPU pool 'h100-mig' has no NoSchedule taint"],
    ),
    ("system pool needs no taint", nodes.gpu_pool_taint, [res.system_node_group()], None, []),
    # launch-template-imdsv2
    ("launch template with IMDSv2, hop 1", nodes.launch_template_imdsv2, [res.launch_template()], None, []),
    (
        "hop limit of 2",
        nodes.launch_template_imdsv2,
        [res.launch_template().but(**{"metadataOptions.httpPutResponseHopLimit": 2})],
        None,
        ["h100-mig: metadataOptions.httpPutResponseHopLimit is 2, not 1"],
    ),
    (
        "IMDSv1 allowed and no hop limit",
        nodes.launch_template_imdsv2,
        [res.launch_template().but(metadataOptions={"httpTokens": "optional"})],
        None,
        [
            "h100-mig: metadataOptions.httpTokens is optional, not required",
            "h100-mig: metadataOptions.httpPutResponseHopLimit is unset, not 1",
        ],
    ),
    # bucket-hardening
    ("bucket with policy, block and encryption", storage.bucket_hardening, res.storage(), None, []),
    (
        "bucket without its policy",
        storage.bucket_hardening,
        [res.bucket(), res.public_access_block(), res.encryption()],
        None,
        [
            (
                "data: no bucket policy denies requests without TLS (Deny s3:* to * on the bucket and its objects when "
                "aws:SecureTransport is false)"
            )
        ],
    ),
    (
        "bucket policy that allows instead of denies",
        storage.bucket_hardening,
        [
            res.bucket(),
            res.bucket_policy(res.https_only_policy().replace('"Deny"', '"Allow"')),
            res.public_access_block(),
            res.encryption(),
        ],
        None,
        [
            (
                "data: no bucket policy denies requests without TLS (Deny s3:* to * on the bucket and its objects when "
                "aws:SecureTransport is false)"
            )
        ],
    ),
    (
        "encryption set inline on the bucket (the deprecated form) counts",
        storage.bucket_hardening,
        [
            res.bucket().but(
                serverSideEncryptionConfiguration={
                    "rule": {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}
                }
            ),
            res.bucket_policy(),
            res.public_access_block(),
        ],
        None,
        [],
    ),
    (
        "a bucket policy set inline on the bucket (the deprecated form) counts",
        storage.bucket_hardening,
        [res.bucket().but(policy=res.https_only_policy()), res.public_access_block(), res.encryption()],
        None,
        [],
    ),
    (
        "public access partly blocked",
        storage.bucket_hardening,
        [
            res.bucket(),
            res.bucket_policy(),
            res.public_access_block().but(restrictPublicBuckets=False),
            res.encryption(),
        ],
        None,
        ["data: public access block does not set restrictPublicBuckets"],
    ),
    (
        "every flag a public access block leaves unset is named",
        storage.bucket_hardening,
        [
            res.bucket(),
            res.bucket_policy(),
            res.public_access_block().but(restrictPublicBuckets=False, blockPublicAcls=None),
            res.encryption(),
        ],
        None,
        ["data: public access block does not set blockPublicAcls, restrictPublicBuckets"],
    ),
    (
        "no public access block, no encryption",
        storage.bucket_hardening,
        [res.bucket(), res.bucket_policy()],
        None,
        [
            "data: no public access block",
            (
                "data: no default encryption (server-side encryption configuration with sseAlgorithm AES256 or aws:kms or "
                "aws:kms:dsse)"
            ),
        ],
    ),
    # irsa-trust
    ("IRSA role pinned to one service account", iam.irsa_trust, [res.irsa_role()], None, []),
    (
        "wildcard subject",
        iam.irsa_trust,
        [res.irsa_role(sub="system:serviceaccount:inference:*", operator="StringLike")],
        None,
        [
            (
                f"model-server: trust through {res.ISSUER} pins {res.ISSUER}:sub with a wildcard or pattern "
                "(StringLike system:serviceaccount:inference:*)"
            )
        ],
    ),
    (
        "no audience",
        iam.irsa_trust,
        [res.irsa_role(aud=None)],
        None,
        [f"model-server: trust through {res.ISSUER} does not pin {res.ISSUER}:aud"],
    ),
    (
        "service role is not IRSA",
        iam.irsa_trust,
        [
            R(
                "aws:iam/role:Role",
                "flow-logs",
                {
                    "assumeRolePolicy": json.dumps(
                        {
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                                    "Action": "sts:AssumeRole",
                                }
                            ]
                        }
                    )
                },
            )
        ],
        None,
        [],
    ),
    # prod-protect-stateful
    ("protected bucket and key in prod", prod.protect_stateful, [res.bucket(), res.kms_key()], None, []),
    (
        "unprotected bucket in prod",
        prod.protect_stateful,
        [res.bucket(protect=False)],
        None,
        ["data: not protected from deletion (protect is off) in stack prod"],
    ),
    (
        "force-destroy key bucket in prod",
        prod.protect_stateful,
        [res.bucket().but(forceDestroy=True)],
        None,
        ["data: forceDestroy is on, so deleting it would delete its objects"],
    ),
    (
        "unprotected key in dev is fine",
        prod.protect_stateful,
        [R("aws:kms/key:Key", "key", {"tags": res.COST}, stack="dev")],
        None,
        [],
    ),
    # prod-cluster-private-encrypted
    ("private, encrypted cluster", prod.private_encrypted_cluster, [res.cluster()], None, []),
    (
        "public endpoint, secrets in plain",
        prod.private_encrypted_cluster,
        [res.cluster().but(**{"vpcConfig.endpointPublicAccess": True, "encryptionConfig": None})],
        None,
        [
            "cluster: the public API endpoint is on (set endpointPublicAccess: false)",
            "cluster: Kubernetes secrets are not encrypted with a KMS key (set encryptionConfigKeyArn)",
        ],
    ),
    (
        "endpoint left to the API's default (public)",
        prod.private_encrypted_cluster,
        [res.cluster().but(**{"vpcConfig.endpointPublicAccess": None})],
        None,
        ["cluster: the public API endpoint is on (set endpointPublicAccess: false)"],
    ),
    (
        "the component is judged by type only: its inputs reach the analyzer blank",
        prod.private_encrypted_cluster,
        [R("eks:index:Cluster", "cluster", {})],
        None,
        [],
    ),
    # tenancy
    ("a team held in, its quota within its pool", tenancy.tenancy, res.team(), None, []),
    (
        "a team namespace without its quota, limit range and default deny",
        tenancy.tenancy,
        res.team()[:2],
        None,
        ["team namespace search: has no quota, no limit range, no default deny"],
    ),
    (
        "a deny policy that lets something through is no default deny",
        tenancy.tenancy,
        [*res.team()[:-1], res.team()[-1].but(**{"spec.ingress": [{"from": [{"podSelector": {}}]}]})],
        None,
        ["team namespace search: has no default deny"],
    ),
    (
        "a quota scoped to some pods is not the team's quota",
        tenancy.tenancy,
        [
            *res.team()[:2],
            res.team()[2].but(
                **{
                    "spec.scopeSelector": {
                        "matchExpressions": [
                            {"scopeName": "PriorityClass", "operator": "In", "values": ["inference-critical"]}
                        ]
                    }
                }
            ),
            *res.team()[3:],
        ],
        None,
        ["team namespace search: has no quota"],
    ),
    (
        "a team quota that does not name a GPU resource the stack's pools advertise",
        tenancy.tenancy,
        [*res.team(), res.node_group("l40s", "nvidia.com/gpu=8")],
        None,
        [
            (
                "team namespace search: its quota does not cap nvidia.com/gpu, which the stack's pools advertise, so "
                "the team may use any number: name each (0 where the team may use none)"
            )
        ],
    ),
    (
        "a GPU quota larger than the team's pools at maxSize",
        tenancy.tenancy,
        [*res.team()[:2], res.team()[2].but(**{"spec.hard": {f"requests.{res.MIG}": "300"}}), *res.team()[3:]],
        None,
        [
            f"team namespace search: quota requests.{res.MIG}=300 is more than its pools (h100-mig) hold at maxSize (224)"
        ],
    ),
]


def named(r: R, name: str) -> R:
    """The same resource under another name (and URN)."""
    return dataclasses.replace(copy.deepcopy(r), name=name)


def namespace_for_pools(name: str, pools: str) -> R:
    return R(
        "kubernetes:core/v1:Namespace",
        name,
        {"metadata": {"name": name, "annotations": {"gpu-platform.io/gpu-pools": pools}}},
    )


TWO_PROFILES = ("nvidia.com/mig-1g.10gb", "nvidia.com/mig-2g.20gb")
ASKS_FOR_TWO = with_resources(
    res.deployment(),
    {
        "requests": {"cpu": "8", "memory": "64Gi"},
        "limits": {"memory": "64Gi", TWO_PROFILES[0]: 1, TWO_PROFILES[1]: 1},
    },
)
UNTAINTED_VALUE = {"key": "nvidia.com/gpu", "effect": "NO_SCHEDULE"}  # a taint with no value
# Each rule judges every workload, lists what it names in full, and says "none" where a list is empty.
CASES += [
    (
        "each workload is judged after one that selects no pool",
        gpu.gpu_placement,
        [
            res.node_group(),
            pod_spec_change(res.deployment(), nodeSelector={}),
            named(res.deployment(pool="a100"), "chat"),
        ],
        None,
        [
            f"llm: asks for {MIG} but selects no GPU pool (nodeSelector gpu-platform.io/pool)",
            "chat: selects GPU pool 'a100', which no node group of this stack is; pools: h100-mig",
        ],
    ),
    (
        "each workload is judged after one on an unknown pool",
        gpu.gpu_placement,
        [
            res.node_group(),
            res.deployment(pool="a100"),
            named(pod_spec_change(res.deployment(), tolerations=[]), "chat"),
        ],
        None,
        [
            "llm: selects GPU pool 'a100', which no node group of this stack is; pools: h100-mig",
            "chat: does not tolerate the taint of GPU pool 'h100-mig' (nvidia.com/gpu=h100-mig:NoSchedule)",
        ],
    ),
    (
        "a stack without GPU pools names none",
        gpu.gpu_placement,
        [res.deployment()],
        None,
        ["llm: selects GPU pool 'h100-mig', which no node group of this stack is; pools: none"],
    ),
    (
        "every GPU resource a workload asks for is named",
        gpu.gpu_placement,
        [res.node_group(), pod_spec_change(ASKS_FOR_TWO, nodeSelector={})],
        None,
        [f"llm: asks for {', '.join(TWO_PROFILES)} but selects no GPU pool (nodeSelector gpu-platform.io/pool)"],
    ),
    (
        "every resource the pool does not advertise is named, with all it does",
        gpu.gpu_placement,
        [res.node_group(advertised="nvidia.com/mig-3g.40gb=16 nvidia.com/mig-7g.80gb=8"), ASKS_FOR_TWO],
        None,
        [
            (
                f"llm: asks for {', '.join(TWO_PROFILES)}, which GPU pool 'h100-mig' does not advertise "
                "(it advertises nvidia.com/mig-3g.40gb=16, nvidia.com/mig-7g.80gb=8)"
            )
        ],
    ),
    (
        "a pool that advertises nothing says so",
        gpu.gpu_placement,
        [res.node_group(advertised=""), res.deployment()],
        None,
        [f"llm: asks for {MIG}, which GPU pool 'h100-mig' does not advertise (it advertises nothing)"],
    ),
    (
        "a pool without a NoSchedule taint cannot keep other pods off: its workloads are refused",
        gpu.gpu_placement,
        [res.node_group(taint=False), res.deployment()],
        None,
        ["llm: does not tolerate the taint of GPU pool 'h100-mig' (none)"],
    ),
    (
        "every other pool a workload tolerates is named",
        gpu.gpu_placement,
        [
            res.node_group(),
            res.node_group("l40s", "nvidia.com/gpu=8"),
            res.node_group("a10g", "nvidia.com/gpu=4"),
            pod_spec_change(res.deployment(), tolerations=[{"key": "", "operator": "Exists"}]),
        ],
        None,
        ["llm: tolerates the taints of other GPU pools too: a10g, l40s"],
    ),
    (
        "a toleration with an empty effect tolerates every effect of its key and value",
        gpu.gpu_placement,
        [
            res.node_group(),
            pod_spec_change(
                res.deployment(),
                tolerations=[{"key": "nvidia.com/gpu", "operator": "Equal", "value": "h100-mig", "effect": ""}],
            ),
        ],
        None,
        [],
    ),
    (
        "a taint without a value is tolerated by an Equal toleration without one",
        gpu.gpu_placement,
        [
            res.node_group().but(taints=[UNTAINTED_VALUE]),
            pod_spec_change(res.deployment(), tolerations=[{"key": "nvidia.com/gpu", "effect": "NoSchedule"}]),
        ],
        None,
        [],
    ),
    (
        "only node groups are pools, whatever else carries the pool label",
        gpu.gpu_placement,
        [
            res.node_group(),
            R("kubernetes:core/v1:ConfigMap", "ghost", {"labels": {"gpu-platform.io/pool": "ghost"}}),
            res.deployment(pool="ghost"),
        ],
        None,
        ["llm: selects GPU pool 'ghost', which no node group of this stack is; pools: h100-mig"],
    ),
    (
        "GPU quantities that arrive as floats over the wire are compared as Kubernetes prints them",
        gpu.gpu_requests_and_limits,
        [
            with_resources(
                res.deployment(),
                {"requests": {"cpu": "8", "memory": "64Gi", MIG: 2}, "limits": {"memory": "64Gi", MIG: 2.0}},
            )
        ],
        None,
        [],
    ),
    (
        "an empty CPU request is no request, and every GPU resource is named",
        gpu.gpu_requests_and_limits,
        [
            with_resources(
                res.deployment(),
                {"requests": {"cpu": "", "memory": "64Gi"}, "limits": {TWO_PROFILES[0]: 1, TWO_PROFILES[1]: 1}},
            )
        ],
        None,
        [f"llm: container server asks for {', '.join(TWO_PROFILES)} without cpu requests"],
    ),
    (
        "each workload's namespace is judged after one outside the GPU namespaces",
        gpu.gpu_namespaces,
        [
            *res.team("search", pools="l40s"),
            res.deployment().but(**{"metadata.namespace": "sandbox"}),
            named(res.deployment().but(**{"metadata.namespace": "search"}), "chat"),
        ],
        None,
        [
            (
                f"llm: asks for {MIG} in namespace 'sandbox', which is not a GPU namespace "
                "(a team's or the platform's inference namespace)"
            ),
            "chat: selects GPU pool 'h100-mig', which namespace 'search' may not use; it may use: l40s",
        ],
    ),
    (
        "a workload with no namespace is in 'default', and every resource it asks for is named",
        gpu.gpu_namespaces,
        [namespace_for_pools("search", "h100-mig"), ASKS_FOR_TWO.but(**{"metadata.namespace": None})],
        None,
        [
            (
                f"llm: asks for {', '.join(TWO_PROFILES)} in namespace 'default', which is not a GPU namespace "
                "(a team's or the platform's inference namespace)"
            )
        ],
    ),
    (
        "a namespace's pools are all named, or none",
        gpu.gpu_namespaces,
        [
            namespace_for_pools("search", "l40s,a10g"),
            namespace_for_pools("empty", ""),
            res.deployment().but(**{"metadata.namespace": "search"}),
            named(res.deployment().but(**{"metadata.namespace": "empty"}), "chat"),
        ],
        None,
        [
            "llm: selects GPU pool 'h100-mig', which namespace 'search' may not use; it may use: a10g, l40s",
            "chat: selects GPU pool 'h100-mig', which namespace 'empty' may not use; it may use: none",
        ],
    ),
]


def team_with(quota: dict[str, str] | None = None, deny: dict | None = None, pools: str = "h100-mig") -> list[R]:
    """res.team() with its quota's `hard`, its deny policy's spec or its namespace's pools replaced."""
    team = copy.deepcopy(res.team(pools=pools.split(",")[0]))
    team[1].props["metadata"]["annotations"]["gpu-platform.io/gpu-pools"] = pools
    if quota is not None:
        team[2].props["spec"]["hard"] = quota
    if deny is not None:
        team[-1].props["spec"] = deny
    return team


EVERY_POD_BOTH_WAYS = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
CASES += [
    (
        "a deny policy for some pods only is no default deny",
        tenancy.tenancy,
        team_with(deny={**EVERY_POD_BOTH_WAYS, "podSelector": {"matchLabels": {"app": "web"}}}),
        None,
        ["team namespace search: has no default deny"],
    ),
    (
        "a deny policy that lets traffic out is no default deny",
        tenancy.tenancy,
        team_with(deny={**EVERY_POD_BOTH_WAYS, "egress": [{"to": [{"podSelector": {}}]}]}),
        None,
        ["team namespace search: has no default deny"],
    ),
    (
        "a quota scoped by `scopes` is not the team's quota either",
        tenancy.tenancy,
        [*res.team()[:2], res.team()[2].but(**{"spec.scopes": ["BestEffort"]}), *res.team()[3:]],
        None,
        ["team namespace search: has no quota"],
    ),
    (
        "a GPU quota exactly what the team's pools hold at maxSize is allowed",
        tenancy.tenancy,
        team_with(quota={f"requests.{res.MIG}": "224"}),
        None,
        [],
    ),
    (
        "every GPU resource of a quota is weighed, after its CPU and memory",
        tenancy.tenancy,
        team_with(quota={"requests.cpu": "8", "requests.memory": "32Gi", f"requests.{res.MIG}": "225"}),
        None,
        [
            f"team namespace search: quota requests.{res.MIG}=225 is more than its pools (h100-mig) hold at maxSize (224)"
        ],
    ),
    (
        "a team's pool that does not advertise a resource adds none of it",
        tenancy.tenancy,
        [
            *team_with(quota={f"requests.{res.MIG}": "225", "requests.nvidia.com/gpu": "0"}, pools="h100-mig,l40s"),
            res.node_group("l40s", "nvidia.com/gpu=8"),
        ],
        None,
        [
            (
                f"team namespace search: quota requests.{res.MIG}=225 is more than its pools (h100-mig, l40s) hold at "
                "maxSize (224)"
            )
        ],
    ),
    (
        "GPU quotas in any unit Kubernetes reads are weighed, numbers off the wire too",
        tenancy.tenancy,
        team_with(quota={f"requests.{res.MIG}": "1k", "requests.nvidia.com/gpu": 2.0}),
        None,
        [
            f"team namespace search: quota requests.{res.MIG}=1000 is more than its pools (h100-mig) hold at maxSize (224)",
            "team namespace search: quota requests.nvidia.com/gpu=2 is more than its pools (h100-mig) hold at maxSize (0)",
        ],
    ),
    (
        "a GPU quota that is no whole count is named",
        tenancy.tenancy,
        team_with(quota={f"requests.{res.MIG}": "1.5"}),
        None,
        [f"team namespace search: quota requests.{res.MIG}=1.5 is not a whole count"],
    ),
    (
        "a team's GPU quota waits for a pool maxSize a first preview does not know",
        tenancy.tenancy,
        [
            r.but(**{"scalingConfig.maxSize": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"}) if "nodeGroup" in r.type else r
            for r in team_with(quota={f"requests.{res.MIG}": "9999", "requests.nvidia.com/gpu": "x"})
        ],
        None,
        ["team namespace search: quota requests.nvidia.com/gpu=x is not a whole count"],
    ),
    (
        "a quota key that is no whole count does not stop the next from being weighed",
        tenancy.tenancy,
        team_with(quota={"requests.nvidia.com/gpu": "x", f"requests.{res.MIG}": "9999"}),
        None,
        [
            "team namespace search: quota requests.nvidia.com/gpu=x is not a whole count",
            f"team namespace search: quota requests.{res.MIG}=9999 is more than its pools (h100-mig) hold at maxSize (224)",
        ],
    ),
    (
        "a pool whose maxSize is not a number holds nothing a quota may count on",
        tenancy.tenancy,
        [r.but(**{"scalingConfig.maxSize": None}) if "nodeGroup" in r.type else r for r in res.team()],
        None,
        [f"team namespace search: quota requests.{res.MIG}=28 is more than its pools (h100-mig) hold at maxSize (0)"],
    ),
    (
        "a team with no pools may hold no GPUs",
        tenancy.tenancy,
        team_with(quota={f"requests.{res.MIG}": "1"}, pools=""),
        None,
        [f"team namespace search: quota requests.{res.MIG}=1 is more than its pools (none) hold at maxSize (0)"],
    ),
    (
        "every resource a quota leaves uncapped is named",
        tenancy.tenancy,
        [
            *team_with(quota={"requests.cpu": "8"}),
            res.node_group("l40s", "nvidia.com/gpu=8"),
        ],
        None,
        [
            (
                f"team namespace search: its quota does not cap nvidia.com/gpu, {res.MIG}, which the stack's pools "
                "advertise, so the team may use any number: name each (0 where the team may use none)"
            )
        ],
    ),
]


# Node group taint effects as AWS writes them (NO_EXECUTE, PREFER_NO_SCHEDULE) are Kubernetes' to the rules.
CASES += [
    *(
        (
            f"a workload tolerating another pool's {effect} taint tolerates that pool",
            gpu.gpu_placement,
            [
                res.node_group(),
                res.node_group("l40s", "nvidia.com/gpu=8").but(**{"taints.0.effect": written}),
                pod_spec_change(
                    res.deployment(),
                    tolerations=[
                        {"key": "nvidia.com/gpu", "operator": "Equal", "value": "h100-mig", "effect": "NoSchedule"},
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": effect},
                    ],
                ),
            ],
            None,
            ["llm: tolerates the taints of other GPU pools too: l40s"],
        )
        for written, effect in (("NO_EXECUTE", "NoExecute"), ("PREFER_NO_SCHEDULE", "PreferNoSchedule"))
    ),
    (
        "an effect already written as Kubernetes writes it is taken as it is",
        nodes.gpu_pool_taint,
        [res.node_group().but(**{"taints.0.effect": "NoSchedule"})],
        None,
        [],
    ),
]


CASES += [
    (
        "every NoSchedule taint of the pool is named when one is not tolerated",
        gpu.gpu_placement,
        [
            res.node_group().but(
                taints=[
                    {"key": "nvidia.com/gpu", "value": "h100-mig", "effect": "NO_SCHEDULE"},
                    {"key": "dedicated", "value": "inference", "effect": "NO_SCHEDULE"},
                ]
            ),
            res.deployment(),
        ],
        None,
        [
            (
                "llm: does not tolerate the taint of GPU pool 'h100-mig' "
                "(nvidia.com/gpu=h100-mig:NoSchedule, dedicated=inference:NoSchedule)"
            )
        ],
    ),
]


SMALL = res.node_group("a-small").but(**{"scalingConfig.maxSize": 1}, region="us-east-1")
BIG = res.node_group().but(region="us-east-1")
CASES += [
    (
        "the pools over the GPU budget are listed biggest first",
        budget.gpu_budget,
        [SMALL, BIG],
        {"maxGpus": 10},
        [
            (
                "GPUs at maxSize: 40 (h100-mig 32, a-small 8), 30 over the budget of 10: lower those pools' maxSize or "
                "raise gpu-budget.maxGpus"
            )
        ],
    ),
    (
        "a stack exactly at its GPU budget is within it",
        budget.gpu_budget,
        [SMALL, BIG],
        {"maxGpus": 40},
        [],
    ),
]


TLS = (
    "no bucket policy denies requests without TLS (Deny s3:* to * on the bucket and its objects when "
    "aws:SecureTransport is false)"
)
NO_ENCRYPTION = (
    "no default encryption (server-side encryption configuration with sseAlgorithm AES256 or aws:kms or aws:kms:dsse)"
)
BARE = res.bucket("logs").but(bucket="gpu-platform-prod-logs")
CASES += [
    (
        "a bucket whose name is not known yet is judged at up; the next bucket is judged now",
        storage.bucket_hardening,
        [res.bucket("pending").but(bucket=""), BARE],
        None,
        [f"logs: {TLS}", "logs: no public access block", f"logs: {NO_ENCRYPTION}"],
    ),
    (
        "a bucket after other resources is judged, with nothing of its own",
        storage.bucket_hardening,
        [res.kms_key(), *res.storage(), BARE],
        None,
        [f"logs: {TLS}", "logs: no public access block", f"logs: {NO_ENCRYPTION}"],
    ),
]


CASES += [
    (
        "a pool whose launch template is not in the stack does not stop the next pool's being judged",
        tags.gpu_launch_template_tags,
        [res.node_group("orphan"), res.launch_template("h100-mig", workload_type="training"), res.node_group()],
        None,
        [
            f"h100-mig (launch template of GPU pool h100-mig): {where} workload-type is 'training', its node "
            "group's is 'inference'"
            for where in ("tags", "tagSpecifications[instance]", "tagSpecifications[volume]")
        ],
    ),
    (
        "an empty workload-type tag is no workload type to judge",
        tags.cost_tags,
        [res.kms_key().but(**{"tags.workload-type": ""})],
        None,
        [],
    ),
]


@pytest.mark.parametrize("policy, resources, config, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(policy, resources, config, expected):
    assert judge(policy, resources, config) == expected


def test_every_rule_has_a_case_that_passes_and_one_that_fails():
    passing = {c[1].name for c in CASES if not c[4]}
    failing = {c[1].name for c in CASES if c[4]}
    names = {p.name for p in pack.POLICIES}
    assert passing == failing == names


def test_every_rule_says_how_to_fix_in_one_line():
    for policy in pack.POLICIES:
        assert "\n" not in policy.description and ": " in policy.description, policy.name


def test_a_secret_property_is_judged_by_its_value():
    secret = {
        "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270",
        "value": {**res.COST, "product": ""},
    }
    assert judge(tags.cost_tags, [res.bucket().but(tags=secret)]) == ["data: tags missing or empty: product"]


def test_a_pool_named_in_a_real_stack_export_child_node_group_counts_too():
    child = R(
        "aws:eks/nodeGroup:NodeGroup",
        "h100-mig-ng",
        {
            "labels": {"gpu-platform.io/pool": "h100-mig"},
            "taints": [{"key": "nvidia.com/gpu", "value": "h100-mig", "effect": "NO_SCHEDULE"}],
            "tags": {**res.COST, "workload-type": "inference", "gpu-platform/advertised-resources": f"{MIG}=56"},
        },
    )
    assert judge(gpu.gpu_placement, [child, res.deployment()]) == []
    assert judge(nodes.gpu_pool_taint, [child.but(taints=[])]) == [
        "h100-mig-ng: GPU pool 'h100-mig' has no NoSchedule taint"
    ]


def test_an_empty_key_arn_is_no_encryption_but_a_key_not_known_yet_is():
    from pulumi_policy.proxy import unknown_checking_proxy

    from policies.prod import _cluster_problems

    UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

    def cluster(key):
        return unknown_checking_proxy(
            {
                "vpcConfig": {"endpointPublicAccess": False},
                "encryptionConfig": {"provider": {"keyArn": key}, "resources": ["secrets"]},
            }
        )

    assert _cluster_problems("aws:eks/cluster:Cluster", cluster("")) == [
        "Kubernetes secrets are not encrypted with a KMS key (set encryptionConfigKeyArn)"
    ]
    assert _cluster_problems("aws:eks/cluster:Cluster", cluster(UNKNOWN)) == []
    no_key = unknown_checking_proxy(
        {"vpcConfig": {"endpointPublicAccess": False}, "encryptionConfig": {"provider": {}, "resources": ["secrets"]}}
    )
    assert _cluster_problems("aws:eks/cluster:Cluster", no_key) == [
        "Kubernetes secrets are not encrypted with a KMS key (set encryptionConfigKeyArn)"
    ]
    assert _cluster_problems("aws:eks/cluster:Cluster", cluster("arn:aws:kms:us-east-1:1:key/k")) == []


def test_the_https_rule_accepts_bucket_policies_of_every_partition():
    from policies.storage import denies_plain_http

    document = {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws-us-gov:s3:::b", "arn:aws-us-gov:s3:::b/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ]
    }
    assert denies_plain_http(document, "b")
    # a deny on every resource ("*") names no partition and covers the bucket in any
    document["Statement"][0]["Resource"] = "*"
    assert denies_plain_http(document, "b")


HTTPS_DENY = {
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::data", "arn:aws:s3:::data/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


@pytest.mark.parametrize(
    ("change", "covers"),
    [
        ({}, True),
        ({"Principal": {"AWS": "*"}}, True),
        ({"Action": ["s3:GetObject", "s3:PutObject"]}, True),
        ({"Action": "s3:GetObject"}, False),  # writes over plain HTTP still allowed
        ({"Action": "s3:PutObject"}, False),  # reads over plain HTTP still allowed
        ({"Resource": ["arn:aws:s3:::other", "arn:aws:s3:::other/*"]}, False),  # another bucket
        ({"Resource": ["arn:aws:s3:::data"]}, False),  # the bucket but not its objects
        ({"Resource": ["arn:aws:s3:::data/*"]}, False),  # the objects but not the bucket
        ({"Principal": {"AWS": "arn:aws:iam::123456789012:root"}}, False),  # one account is not everyone
        ({"Effect": "Allow"}, False),
        ({"Condition": {"Bool": {"aws:SecureTransport": "true"}}}, False),
    ],
)
def test_only_a_deny_of_every_read_and_write_to_everyone_on_the_bucket_and_its_objects_refuses_plain_http(
    change, covers
):
    from policies.storage import denies_plain_http

    assert denies_plain_http({"Statement": [{**HTTPS_DENY, **change}]}, "data") is covers


def trust(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def web_identity(conditions: dict, effect: str = "Allow", principal: object = res.OIDC_ARN) -> dict:
    return {
        "Effect": effect,
        "Principal": {"Federated": principal},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": conditions,
    }


ACCOUNT_SUB = "system:serviceaccount:inference:model-server"
AUD = {f"{res.ISSUER}:aud": "sts.amazonaws.com"}
PINS = f"trust through {res.ISSUER} pins {res.ISSUER}:sub with a wildcard or pattern"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (trust(web_identity({"StringEquals": {f"{res.ISSUER}:sub": ACCOUNT_SUB, **AUD}})), []),
        # a Deny, or an Allow of another action, grants nothing to judge
        (trust(web_identity({}, effect="Deny")), []),
        (trust({**web_identity({}), "Action": "sts:AssumeRole"}), []),
        # every statement and every provider is judged, after one that is not
        (
            trust(web_identity({}, effect="Deny"), web_identity({"StringEquals": AUD})),
            [f"trust through {res.ISSUER} does not pin {res.ISSUER}:sub"],
        ),
        (
            trust(
                web_identity(
                    {"StringEquals": AUD}, principal=["arn:aws:iam::123456789012:saml-provider/corp", res.OIDC_ARN]
                )
            ),
            [f"trust through {res.ISSUER} does not pin {res.ISSUER}:sub"],
        ),
        (
            trust(web_identity({"StringEquals": {f"{res.ISSUER}:sub": "system:serviceaccount:inference:*", **AUD}})),
            [f"{PINS} (StringEquals system:serviceaccount:inference:*)"],
        ),
        (
            trust(
                web_identity({"StringEquals": {f"{res.ISSUER}:sub": "system:serviceaccount:inference:model-?", **AUD}})
            ),
            [f"{PINS} (StringEquals system:serviceaccount:inference:model-?)"],
        ),
        (
            trust(web_identity({"StringEquals": AUD, "StringLike": {f"{res.ISSUER}:sub": ACCOUNT_SUB}})),
            [f"{PINS} (StringLike {ACCOUNT_SUB})"],
        ),
        (
            trust(
                web_identity(
                    {
                        "StringEquals": {f"{res.ISSUER}:sub": ACCOUNT_SUB, **AUD},
                        "StringLike": {f"{res.ISSUER}:sub": "x"},
                    }
                )
            ),
            [f"{PINS} (StringEquals {ACCOUNT_SUB}, StringLike x)"],
        ),
        (
            trust(
                web_identity({"StringEquals": {f"{res.ISSUER}:sub": [ACCOUNT_SUB, "system:serviceaccount:a:*"], **AUD}})
            ),
            [f"{PINS} (StringEquals {ACCOUNT_SUB}, StringEquals system:serviceaccount:a:*)"],
        ),
    ],
    ids=[
        "pinned",
        "a-deny",
        "another-action",
        "after-a-deny",
        "after-a-saml-provider",
        "star",
        "question-mark",
        "only-a-pattern-operator",
        "a-pattern-operator-beside-an-exact-one",
        "every-value-shown",
    ],
)
def test_what_the_pack_says_of_a_web_identity_trust_policy(document, expected):
    assert iam.problems(document) == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {},
            [
                "h100-mig: metadataOptions.httpTokens is unset, not required",
                "h100-mig: metadataOptions.httpPutResponseHopLimit is unset, not 1",
            ],
        ),
        # numbers arrive as floats over the wire: shown as written
        (
            {"httpTokens": "required", "httpPutResponseHopLimit": 2.0},
            ["h100-mig: metadataOptions.httpPutResponseHopLimit is 2, not 1"],
        ),
        ({"httpTokens": "required", "httpPutResponseHopLimit": 1.0}, []),
    ],
    ids=["nothing-set", "two-hops", "one-hop-as-a-float"],
)
def test_what_the_pack_says_of_a_launch_templates_metadata_options(options, expected):
    template = copy.deepcopy(res.launch_template())
    template.props["metadataOptions"] = options
    assert judge(nodes.launch_template_imdsv2, [template]) == expected
