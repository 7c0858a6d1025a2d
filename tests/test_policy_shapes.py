"""How the rules read what the engine hands them: the readers every rule shares (policies/shapes.py), on the
odd values a plan can carry (a malformed tag, one statement instead of a list, a value that is not text)."""

from __future__ import annotations

from pulumi_policy.proxy import unknown_checking_proxy

from policies import shapes


def test_advertised_resources_are_read_from_the_pool_tag_and_a_malformed_count_advertises_none():
    tags = {shapes.ADVERTISED_TAG: "nvidia.com/mig-1g.10gb=14  nvidia.com/mig-3g.40gb=4"}
    assert shapes.advertised(tags) == {"nvidia.com/mig-1g.10gb": 14, "nvidia.com/mig-3g.40gb": 4}
    assert shapes.advertised({shapes.ADVERTISED_TAG: "nvidia.com/gpu=many nvidia.com/gpu.shared a==2"}) == {
        "nvidia.com/gpu": 0,
        "nvidia.com/gpu.shared": 0,
        "a": 0,
    }
    # a tag the engine sends as another type, or none at all, advertises nothing (and does not fail the rule)
    assert shapes.advertised({shapes.ADVERTISED_TAG: 8}) == {}
    assert shapes.advertised({}) == {} and shapes.advertised(None) == {}


def test_a_policy_with_one_statement_object_has_that_statement_and_an_empty_one_none():
    deny = {"Effect": "Deny", "Action": "s3:*"}
    assert shapes.statements({"Statement": deny}) == [deny]
    assert shapes.statements({"Statement": [deny, deny]}) == [deny, deny]
    assert shapes.statements({}) == [] and shapes.statements({"Statement": []}) == []
    assert shapes.policy_document('{"Statement": []}') == {"Statement": []}
    assert shapes.policy_document("not json") == {} and shapes.policy_document(None) == {}


def test_a_single_value_is_a_list_of_one_and_nothing_is_an_empty_list():
    assert shapes.as_list("s3:GetObject") == ["s3:GetObject"]
    assert shapes.as_list(["a", "b"]) == ["a", "b"]
    assert shapes.as_list(None) == []
    assert shapes.as_list(unknown_checking_proxy({"a": ["x"]})["a"]) == ["x"]  # the engine's list proxy


def test_the_stack_of_a_urn_and_of_what_is_no_urn():
    assert shapes.stack_of("urn:pulumi:prod::gpu-platform::aws:s3/bucketV2:BucketV2::models") == "prod"
    assert shapes.stack_of("urn:pulumi:dev::p::pkg:index:Component$aws:s3/bucketV2:BucketV2::b") == "dev"
    assert shapes.stack_of("models") == "" and shapes.stack_of("urn:pulumi:prod::p") == ""


def test_a_bare_pod_is_its_own_template_and_other_kinds_have_none():
    pod = {"metadata": {"name": "p"}, "spec": {"containers": []}}
    assert shapes.pod_template("kubernetes:core/v1:Pod", pod) == pod
    cron = {"spec": {"jobTemplate": {"spec": {"template": pod}}}}
    assert shapes.pod_template("kubernetes:batch/v1:CronJob", cron) == pod
    assert shapes.pod_template("kubernetes:apps/v1:Deployment", {}) == {}
    assert shapes.pod_template("kubernetes:core/v1:Service", pod) is None


def test_a_pool_is_named_only_by_a_non_empty_text_label():
    assert shapes.gpu_pool_name({"labels": {shapes.GPU_POOL_LABEL: "h100"}}) == "h100"
    assert shapes.gpu_pool_name({"labels": {shapes.GPU_POOL_LABEL: ""}}) is None
    assert shapes.gpu_pool_name({"labels": {shapes.GPU_POOL_LABEL: 5}}) is None
    assert shapes.gpu_pool_name({}) is None


def test_gpu_counts_are_read_as_kubernetes_writes_quantities():
    # the grammar and examples of k8s.io/apimachinery pkg/api/resource/quantity.go and suffix.go
    written = [
        ("8", 8), (8, 8), (8.0, 8), (" 8 ", 8), ("+4", 4), ("4.", 4), ("4.0", 4), ("4000m", 4), ("4000000u", 4),
        ("8000000000n", 8), ("1e3", 1000), ("1E3", 1000), ("2E", 2 * 10**18), ("1k", 1000), ("2M", 2_000_000),
        ("1G", 10**9), ("2T", 2 * 10**12), ("1Ki", 1024), ("2Mi", 2 * 2**20), ("1Gi", 2**30), ("1Ti", 2**40),
        (".5k", 500),
    ]  # fmt: skip
    assert [(v, shapes.whole_count(v)) for v, _ in written] == written
    # no whole count: fractions (1m, 1.5, 1e-1), negatives, no suffix Kubernetes knows, what is not a quantity,
    # and what is too long to be one (it would take the rule minutes, or overflow its message)
    refused = ("1m", "1.5", 1.5, "1e-1", "-1", -1, "1K", "1ki", "", None, "eight", "\u0664", True)
    refused += (float("inf"), float("nan"), "1e999999999", "1e65", "1" * 5000, "1e" + "1" * 5000)
    assert [shapes.whole_count(v) for v in refused] == [None] * len(refused)
    # the bound is 64 characters and an exponent of 64
    assert shapes.whole_count("1" * 64) == int("1" * 64) and shapes.whole_count("1" * 65) is None
    assert shapes.whole_count("1e64") == 10**64


class _Node:
    def __init__(self, resource_type: str = shapes.LAUNCH_TEMPLATE_TYPE, **props):
        self.resource_type, self.props = resource_type, props
        self.dependencies: list = []
        self.property_dependencies: dict = {}


def test_a_node_groups_launch_template_is_the_one_its_launch_template_input_depends_on():
    other, mine = _Node(id="lt-o"), _Node(id="lt-m")
    group = _Node(shapes.NODE_GROUP_TYPES[0], launchTemplate={"id": "lt-o"})
    group.dependencies = [other, mine]  # all it depends on, in no particular order
    group.property_dependencies = {"launchTemplate": [mine]}
    assert shapes.launch_template_of(group, shapes.launch_templates([other, mine])) is mine


def test_launch_templates_are_found_by_id_and_name_and_not_by_an_empty_one():
    named, blank = _Node(id="lt-1", name="gpu-a"), _Node(id="", name="")
    found = shapes.launch_templates([named, blank, _Node(shapes.NODE_GROUP_TYPES[0], id="ng-1")])
    assert found == {"lt-1": named, "gpu-a": named}
