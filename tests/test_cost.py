"""What a stack costs, what a change costs, and GPU budgets: figures checked against ones worked out by hand
from the published prices (policies/prices.json cites them), not against the program's own arithmetic."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from gpu_platform.components.catalog import GPU_INSTANCES
from gpu_platform.offline import __main__ as cli
from gpu_platform.offline import cost, diff
from gpu_platform.offline.cost import entries
from pulumi_policy.policy import PolicyProviderResource

from policies import budget
from policies.cost import Price, PriceTable, gpus_of, price_stack, price_table, usage_rates
from tests.planning import MINIMAL, Plan, fixture_platform, with_changes
from tests.policy_harness import R, judge

# Published on-demand list prices, us-east-1 (karpenter's generated table, 2026-07-20), $ per hour.
P5, G6E_12XL, M7I_XL = 55.04, 10.49264, 0.2016
GP3 = 0.08 / 730  # $ per GiB-hour (0.08 per GB-month)
EKS, NAT, IPV4, ENDPOINT_AZ, KMS = 0.10, 0.045, 0.005, 0.01, 1 / 730


def node(price: float, disk_gib: int) -> float:
    return price + disk_gib * GP3


# Prod: system m7i.xlarge 2/3/6 nodes (50 GiB), h100-mig p5 1/1/4 (500 GiB), l40s-shared g6e.12xlarge 1/2/6
# (300 GiB); one EKS control plane, 3 NAT gateways with their public IPv4s, 5 interface endpoints in 3 AZs,
# 3 KMS keys.
PROD_FIXED = EKS + 3 * NAT + 3 * IPV4 + 5 * 3 * ENDPOINT_AZ + 3 * KMS
PROD = {
    "floor": 2 * node(M7I_XL, 50) + 1 * node(P5, 500) + 1 * node(G6E_12XL, 300) + PROD_FIXED,
    "expected": 3 * node(M7I_XL, 50) + 1 * node(P5, 500) + 2 * node(G6E_12XL, 300) + PROD_FIXED,
    "ceiling": 6 * node(M7I_XL, 50) + 4 * node(P5, 500) + 6 * node(G6E_12XL, 300) + PROD_FIXED,
}


@pytest.fixture(scope="module")
def prod_cost(prod_plan: Plan) -> cost.Costing:
    return cost.cost_of(prod_plan.document)


def test_prod_costs_what_the_published_prices_add_up_to(prod_cost):
    assert prod_cost.total() == pytest.approx(PROD, abs=1e-9)
    assert prod_cost.gpus() == {
        "floor": {"H100 80GB": 8, "L40S": 4},
        "expected": {"H100 80GB": 8, "L40S": 8},
        "ceiling": {"H100 80GB": 32, "L40S": 24},
    }
    pools = {pool: prod_cost.total(lines) for pool, lines in prod_cost.pools().items()}
    assert pools["h100-mig"]["ceiling"] == pytest.approx(4 * node(P5, 500))
    assert prod_cost.unpriced() == [] and prod_cost.regions == ["us-east-1"]


def test_dev_prices_what_has_a_price_in_us_west_2_and_names_what_has_none(dev_plan: Plan):
    costing = cost.cost_of(dev_plan.document)
    # system m7i.large 1/1/2; shared-l4 SPOT g6.xlarge or g6.2xlarge 0/0/2; one NAT gateway; 3 KMS keys
    fixed = EKS + NAT + IPV4 + 3 * KMS
    assert costing.total() == pytest.approx(
        {"floor": 0.1008 + fixed, "expected": 0.1008 + fixed, "ceiling": 2 * 0.1008 + 2 * 0.9776 + fixed}
    )
    assert costing.gpus()["ceiling"] == {"L4": 2}
    assert costing.unpriced() == [
        "EBS gp3 in us-west-2 (gpu-platform-dev-cluster-system, gpu-platform-dev-shared-l4)",
        (
            "interface-endpoint-az-hour in us-west-2 (gpu-platform-dev-network-ec2, gpu-platform-dev-network-ecr-api, "
            "gpu-platform-dev-network-ecr-dkr, gpu-platform-dev-network-logs, gpu-platform-dev-network-sts)"
        ),
    ]
    assert costing.caveats() == [
        "gpu-platform-dev-shared-l4: Spot: shown at the on-demand equivalent; the real price varies"
    ]


def test_the_cost_command_prints_per_component_pool_and_stack_and_json_agrees(prod_plan: Plan, tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(prod_plan.document))
    text, as_json = io.StringIO(), io.StringIO()
    assert cost.run(path, "text", text) == 0 and cost.run(path, "json", as_json) == 0
    report = json.loads(as_json.getvalue())
    assert report["total"]["usdPerHour"]["ceiling"] == pytest.approx(PROD["ceiling"], abs=1e-4)
    assert report["total"]["usdPerMonth"]["ceiling"] == pytest.approx(PROD["ceiling"] * 730, abs=0.01)
    assert set(report["pools"]) == {"h100-mig", "l40s-shared"}
    assert "GpuPool gpu-platform-prod-h100-mig" in report["components"]
    assert "GPU pool h100-mig" in text.getvalue() and f"${PROD['ceiling']:,.2f}" in text.getvalue()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "not a deployment (not JSON"),
        (json.dumps({"version": 3, "deployment": {"resources": "x"}}), "not a deployment"),
    ],
)
def test_what_is_not_a_deployment_is_one_line_and_exit_2(tmp_path, capsys, document, message):
    path = tmp_path / "x.json"
    path.write_text(document)
    assert cli.main(["cost", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_region_without_prices_is_one_line_and_exit_2(tmp_path, capsys):
    plan = Plan.of_config(with_changes(MINIMAL, {"region": "ap-south-2"}))
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan.document))
    assert cli.main(["cost", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no prices for region ap-south-2") and len(err.splitlines()) == 1


# --- diff --------------------------------------------------------------------------------------------

H200 = {"name": "h200", "instanceTypes": ["p5en.48xlarge"], "size": {"minSize": 0, "desiredSize": 0, "maxSize": 2}}


def diff_of(base: dict, head: dict) -> diff.Diff:
    return diff.diff_of(Plan.of_config(base, "prod").document, Plan.of_config(head, "prod").document)


@pytest.fixture(scope="module")
def prod_config() -> dict:
    return fixture_platform("prod")


def test_adding_a_pool_adds_its_node_group_and_its_ceiling(prod_config):
    change = diff_of(prod_config, {**prod_config, "gpuPools": [*prod_config["gpuPools"], H200]})
    added = {(r["type"], r["urn"].rsplit("::", 1)[1]) for r in change.added}
    assert ("aws:eks/nodeGroup:NodeGroup", "gpu-platform-prod-h200") in added
    before, after = change.base.total(), change.head.total()
    assert after["floor"] - before["floor"] == pytest.approx(0)  # minSize 0
    assert after["ceiling"] - before["ceiling"] == pytest.approx(2 * node(63.296, 200))  # p5en, 200 GiB default
    assert change.head.gpus()["ceiling"]["H200 141GB"] == 16
    markdown = diff.to_markdown(change)
    assert f"+${2 * node(63.296, 200):,.2f}" in markdown and "| `h200` |" in markdown


def test_raising_max_size_changes_only_the_ceiling(prod_config):
    raised = json.loads(json.dumps(prod_config))
    raised["gpuPools"][0]["size"]["maxSize"] = 6
    change = diff_of(prod_config, raised)
    assert not change.added and not change.removed
    [node_group] = [c for c in change.changed if c.type == "aws:eks/nodeGroup:NodeGroup"]
    assert ("scalingConfig.maxSize", 4, 6) in node_group.paths
    before, after = change.base.total(), change.head.total()
    assert after["ceiling"] - before["ceiling"] == pytest.approx(2 * node(P5, 500))
    assert after["expected"] == pytest.approx(before["expected"])
    assert change.head.gpus()["ceiling"]["H100 80GB"] - change.base.gpus()["ceiling"]["H100 80GB"] == 16


def test_changing_a_mig_layout_changes_config_not_cost(prod_config):
    relaid = json.loads(json.dumps(prod_config))
    relaid["gpuPools"][0]["sharing"]["layout"] = "all-balanced"
    change = diff_of(prod_config, relaid)
    types = {c.type for c in change.changed}
    assert "kubernetes:core/v1:ConfigMap" in types  # the mig-parted layout
    assert change.base.total() == change.head.total() and change.base.gpus() == change.head.gpus()
    assert "±$0.00" in diff.to_markdown(change)


def test_diff_of_two_stacks_or_a_bad_file_is_one_line_and_exit_2(dev_plan, prod_plan, tmp_path, capsys):
    dev, prod = tmp_path / "dev.json", tmp_path / "prod.json"
    dev.write_text(json.dumps(dev_plan.document))
    prod.write_text(json.dumps(prod_plan.document))
    assert cli.main(["diff", str(dev), str(prod)]) == 2
    assert "compare one stack's plans" in capsys.readouterr().err
    assert cli.main(["diff", str(dev), str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err


# --- gpu-budget --------------------------------------------------------------------------------------


def pool(name: str, instance_type: str, max_size: int) -> R:
    return R(
        "aws:eks/nodeGroup:NodeGroup",
        name,
        {
            "instanceTypes": [instance_type],
            "scalingConfig": {"minSize": 0, "desiredSize": 0, "maxSize": max_size},
            "labels": {"gpu-platform.io/pool": name},
            "diskSize": 100,
        },
        region="us-east-1",
    )


STACK = [pool("h100", "p5.48xlarge", 4), pool("l40s", "g6e.12xlarge", 6)]


def price_stack_of(resources: list[R], today=None):
    """The pack's cost module on resources as the engine hands them to the pack."""
    from tests.policy_harness import _props, _provider

    class Seen:
        def __init__(self, r: R) -> None:
            self.resource_type, self.props, self.urn, self.name = r.type, _props(r), r.urn, r.name
            self.provider, self.dependencies, self.property_dependencies = _provider(r), [], {}

    return price_stack([Seen(r) for r in resources], today=today)


def test_a_stack_within_its_budget_passes():
    config = {"maxGpus": 56, "maxGpusPerModel": {"H100 80GB": 32}, "maxCeilingUsdPerHour": 300}
    assert judge(budget.gpu_budget, STACK, config) == []


def test_over_budget_names_the_pools_that_push_it_over_and_by_how_much():
    config = {"maxGpus": 40, "maxGpusPerModel": {"H100 80GB": 16}, "maxCeilingUsdPerHour": 250}
    ceiling = 4 * node(P5, 100) + 6 * node(G6E_12XL, 100)
    assert judge(budget.gpu_budget, STACK, config) == [
        (
            "GPUs at maxSize: 56 (h100 32, l40s 24), 16 over the budget of 40: lower those pools' maxSize or raise "
            "gpu-budget.maxGpus"
        ),
        (
            "H100 80GB GPUs at maxSize: 32 (h100 32), 16 over the budget of 16: lower those pools' maxSize or raise "
            "gpu-budget.maxGpusPerModel"
        ),
        (
            f"ceiling ${ceiling:,.2f}/h (h100 ${4 * node(P5, 100):,.2f}, l40s ${6 * node(G6E_12XL, 100):,.2f}), "
            f"${ceiling - 250:,.2f} over the budget of $250.00/h: lower maxSize or raise gpu-budget.maxCeilingUsdPerHour"
        ),
    ]


def test_a_dollar_budget_on_a_type_without_a_price_says_it_cannot_be_priced():
    stack = [pool("h200", "p5e.48xlarge", 1)]  # no on-demand price published in any source read
    assert judge(budget.gpu_budget, stack, {"maxCeilingUsdPerHour": 100}) == [
        (
            "the ceiling cannot be priced whole: EC2 p5e.48xlarge in us-east-1 (h200) (policies/prices.json); "
            "add the prices with their sources, or drop gpu-budget.maxCeilingUsdPerHour"
        )
    ]


def test_the_stacks_budgets_hold_for_their_plans_and_catch_a_bigger_pool(prod_config):
    prod_budget = json.loads((Path(__file__).parent.parent / "policies" / "config" / "prod.json").read_text())
    config = prod_budget["gpu-budget"]
    bigger = json.loads(json.dumps(prod_config))
    bigger["gpuPools"][0]["size"]["maxSize"] = 6  # 48 H100s, over prod's 32
    for platform, expected in ((prod_config, []), (bigger, ["GPUs at maxSize: 72", "H100 80GB GPUs", "ceiling $"])):
        resources = [
            R(e.resource_type, e.name, e.props, region="us-east-1")
            for e in entries(Plan.of_config(platform, "prod").document)
            if e.resource_type in ("aws:eks/nodeGroup:NodeGroup", "aws:ec2/launchTemplate:LaunchTemplate")
        ]
        found = judge(budget.gpu_budget, resources, config)
        assert [f for f in found if not any(f.startswith(e) for e in expected)] == [] and len(found) == len(expected)


# --- the price table -----------------------------------------------------------------------------------


def test_the_price_table_knows_every_gpu_type_the_platform_offers_with_the_catalogs_gpus():
    table = price_table()
    for instance_type, instance in GPU_INSTANCES.items():
        assert table.gpus(instance_type) == (instance.gpu_count, instance.gpu.model), instance_type


def test_every_price_names_a_source_the_table_lists_and_every_source_is_used():
    data = json.loads((Path(__file__).parent.parent / "policies" / "prices.json").read_text())
    used = {source for e in data["ec2"].values() for _, source in e["usdPerHour"].values()}
    used |= {source for item in data["services"].values() for _, source in item.values()}
    used |= {data["eksStandardSupportEnds"]["source"]}
    assert used == set(data["sources"])


def test_through_the_engines_wire_the_prod_budget_refuses_a_raised_pool_in_whole_numbers(prod_config):
    # config numbers reach the pack as protobuf floats: the finding still counts GPUs as whole numbers
    from gpu_platform.offline import review

    raised = json.loads(json.dumps(prod_config))
    raised["gpuPools"][0]["size"]["maxSize"] = 6
    document = Plan.of_config(raised, "prod").document
    with review.Analyzer() as analyzer:
        report = review.review(Path("plan.json"), document, analyzer)
    found = sorted(f.message for f in report.findings if f.policy == "gpu-budget")
    assert found[0].startswith("GPUs at maxSize: 72 (h100-mig 48, l40s-shared 24), 8 over the budget of 64:")
    assert found[1].startswith("H100 80GB GPUs at maxSize: 48 (h100-mig 48), 16 over the budget of 32:")
    assert found[2].startswith(f"ceiling ${PROD['ceiling'] + 2 * node(P5, 500):,.2f}/h")
    assert not report.passed


# --- what the first figures missed (review) ------------------------------------------------------------


def test_floor_and_expected_take_the_first_type_and_the_ceiling_the_dearest_whatever_the_order():
    group = pool("l4", "g6.2xlarge", 3).but(
        instanceTypes=["g6.2xlarge", "g6.xlarge"], scalingConfig={"minSize": 1, "desiredSize": 2, "maxSize": 3}
    )
    [line] = price_stack_of([group])
    assert line.usd_per_hour["floor"] == pytest.approx(node(0.9776, 100))  # g6.2xlarge listed first
    assert line.usd_per_hour["expected"] == pytest.approx(2 * node(0.9776, 100))
    assert line.usd_per_hour["ceiling"] == pytest.approx(3 * node(0.9776, 100))  # the dearest of the two


def test_the_ceiling_counts_the_type_with_the_most_gpus_even_where_it_has_no_price():
    # eu-west-1 has a g5.xlarge price, none for g5.24xlarge (4 GPUs): the budget must count 4 a node
    group = pool("a10g", "g5.xlarge", 4).but(instanceTypes=["g5.xlarge", "g5.24xlarge"], region="eu-west-1")
    [line] = price_stack_of([group])
    assert line.gpus["ceiling"] == {"A10G": 16}
    assert judge(budget.gpu_budget, [group], {"maxGpus": 8})[0].startswith("GPUs at maxSize: 16 (a10g 16), 8 over")


def test_a_budget_exactly_met_passes():
    assert judge(budget.gpu_budget, STACK, {"maxGpus": 56, "maxGpusPerModel": {"H100 80GB": 32}}) == []
    ceiling = 4 * node(P5, 100) + 6 * node(G6E_12XL, 100)
    assert judge(budget.gpu_budget, STACK, {"maxCeilingUsdPerHour": ceiling + 1e-9}) == []


@pytest.mark.parametrize(("support", "usd"), [("EXTENDED", 0.60), ("STANDARD", 0.10), (None, 0.60)])
def test_a_minor_past_standard_support_bills_extended_support_unless_the_cluster_chose_standard(support, usd):
    import datetime

    props = {"version": "1.31", **({"upgradePolicy": {"supportType": support}} if support else {})}
    cluster = R("aws:eks/cluster:Cluster", "c", props, region="us-east-1")
    [line] = price_stack_of([cluster], today=datetime.date(2026, 1, 1))  # 1.31 left standard support 2025-11-26
    assert line.usd_per_hour["floor"] == pytest.approx(usd)
    [before] = price_stack_of([cluster], today=datetime.date(2025, 11, 25))
    assert before.usd_per_hour["floor"] == pytest.approx(0.10)


def test_a_capacity_block_is_committed_up_front_not_an_hourly_figure():
    block = pool("h100", "p5.48xlarge", 2).but(capacityType="CAPACITY_BLOCK")
    [line] = price_stack_of([block])
    assert line.usd_per_hour["ceiling"] == pytest.approx(2 * 100 * GP3)  # only the disks run by the hour
    assert any(u.startswith("Capacity Block: paid up front") for u in line.unpriced)
    assert line.gpus["ceiling"] == {"H100 80GB": 16}


def test_charges_by_use_are_listed_with_their_unit_prices(prod_cost):
    assert {item: price.usd for item, price in prod_cost.usage.items()} == {
        "logs-ingestion-gb": 0.50,
        "logs-storage-gb-month": 0.03,
        "s3-standard-gb-month": 0.023,
        "nat-gateway-gb": 0.045,
        "interface-endpoint-gb": 0.01,
    }


def test_the_catalogs_eks_calendar_and_the_price_tables_agree():
    from gpu_platform.components.catalog import EKS_CALENDAR

    data = json.loads((Path(__file__).parent.parent / "policies" / "prices.json").read_text())
    ends = data["eksStandardSupportEnds"]["minors"]
    assert ends == {minor: str(release.end_of_standard) for minor, release in EKS_CALENDAR.items()}


def test_diff_markdown_shows_values_as_code_so_they_render_as_text(prod_plan: Plan):
    head = json.loads(json.dumps(prod_plan.document))
    [vpc] = [r for r in head["deployment"]["resources"] if r["type"] == "aws:ec2/vpc:Vpc"]
    vpc["inputs"]["tags"]["Name"] = "<b>vpc</b> | `x`"
    markdown = diff.to_markdown(diff.diff_of(prod_plan.document, head))
    assert "→ `<b>vpc</b> | 'x'`" in markdown  # a code span: no HTML, no stray backtick


def pool_of_group(group: str, pool_name: str, instance_type: str, max_size: int) -> R:
    """A pool's node group under a name of its own, as the platform names them (not the pool's)."""
    template = pool(pool_name, instance_type, max_size)
    return R(template.type, group, template.props, region="us-east-1")


def test_budget_messages_name_pools_biggest_first_and_equals_by_name():
    stack = [
        pool_of_group("prod-zeta-ng", "zeta", "p5.48xlarge", 1),
        pool_of_group("prod-small-ng", "small", "g6e.xlarge", 1),
        pool_of_group("prod-alpha-ng", "alpha", "p5.48xlarge", 1),
    ]
    ceiling = 2 * node(P5, 100) + node(1.861, 100)  # g6e.xlarge, us-east-1 (karpenter's table)
    assert judge(budget.gpu_budget, stack, {"maxGpus": 8, "maxCeilingUsdPerHour": 100}) == [
        (
            "GPUs at maxSize: 17 (alpha 8, zeta 8, small 1), 9 over the budget of 8: lower those pools' maxSize or "
            "raise gpu-budget.maxGpus"
        ),
        (
            f"ceiling ${ceiling:,.2f}/h (alpha ${node(P5, 100):,.2f}, zeta ${node(P5, 100):,.2f}, "
            f"small ${node(1.861, 100):,.2f}), ${ceiling - 100:,.2f} over the budget of $100.00/h: lower maxSize or "
            "raise gpu-budget.maxCeilingUsdPerHour"
        ),
    ]


def test_a_ceiling_exactly_at_the_dollar_budget_passes_and_a_cent_under_it_does_not():
    ceiling = sum(line.usd_per_hour["ceiling"] for line in price_stack_of(STACK))
    assert ceiling == pytest.approx(4 * node(P5, 100) + 6 * node(G6E_12XL, 100))
    assert judge(budget.gpu_budget, STACK, {"maxCeilingUsdPerHour": ceiling}) == []
    assert judge(budget.gpu_budget, STACK, {"maxCeilingUsdPerHour": ceiling - 0.01})[0].startswith(
        f"ceiling ${ceiling:,.2f}/h (h100 "
    )


def test_every_type_without_a_price_is_named_in_one_message():
    stack = [pool("h200", "p5e.48xlarge", 1), pool("old", "p3.2xlarge", 1)]
    assert judge(budget.gpu_budget, stack, {"maxCeilingUsdPerHour": 1000}) == [
        (
            "the ceiling cannot be priced whole: EC2 p3.2xlarge in us-east-1 (old); EC2 p5e.48xlarge in us-east-1 "
            "(h200) (policies/prices.json); add the prices with their sources, or drop gpu-budget.maxCeilingUsdPerHour"
        )
    ]


def test_a_dollar_budget_waits_for_inputs_a_first_preview_does_not_know():
    from pulumi_policy.proxy import UnknownValueError

    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # the engine's marker for a value not known yet
    stack = [*STACK, pool("later", "p5.48xlarge", 1).but(diskSize=unknown)]
    with pytest.raises(UnknownValueError):
        judge(budget.gpu_budget, stack, {"maxCeilingUsdPerHour": 1000})
    assert judge(budget.gpu_budget, stack, {"maxGpus": 64}) == []


def test_each_priced_line_says_what_it_is_what_it_costs_and_what_could_not_be_priced():
    """The lines `make cost` prints and the budget weighs: what each resource is, its $/h at floor, expected and
    ceiling, its GPUs, and what has no price."""
    template = R(
        "aws:ec2/launchTemplate:LaunchTemplate",
        "lt",
        {"id": "lt-1", "instanceType": "p5.48xlarge", "blockDeviceMappings": [{"ebs": {"volumeSize": 500}}]},
        region="us-east-1",
    )
    from_template = R(
        "aws:eks/nodeGroup:NodeGroup",
        "gpu-ng",
        {
            "launchTemplate": {"id": "lt-1", "version": "1"},
            "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 2},
            "labels": {"gpu-platform.io/pool": "h100"},
        },
        region="us-east-1",
    )
    # listed cheapest first: floor and expected run the first type, the ceiling the dearest and counts the most GPUs
    mixed = pool("mixed", "g6e.12xlarge", 3).but(
        instanceTypes=["g6e.12xlarge", "p5.48xlarge"], **{"scalingConfig.minSize": 1}
    )
    cpu_then_gpu = pool("odd", "m7i.xlarge", 1).but(instanceTypes=["m7i.xlarge", "g6e.xlarge"], diskSize=None)
    no_type = R("aws:eks/nodeGroup:NodeGroup", "unknown-ng", {"scalingConfig": {"maxSize": 2}}, region="us-east-1")
    cluster = R("aws:eks/cluster:Cluster", "eks", {"version": "1.35"}, region="us-east-1")
    unversioned = R("aws:eks/cluster:Cluster", "eks2", {}, region="us-east-1")
    nat = R("aws:ec2/natGateway:NatGateway", "nat", {}, region="us-east-1")
    eip = R("aws:ec2/eip:Eip", "eip", {}, region="us-east-1")
    endpoint = R(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "ecr",
        {"vpcEndpointType": "Interface", "subnetIds": ["a", "b", "c"]},
        region="us-east-1",
    )
    key = R("aws:kms/key:Key", "key", {}, region="us-east-1")
    lines = price_stack_of(
        [template, from_template, mixed, cpu_then_gpu, no_type, cluster, unversioned, nat, eip, endpoint, key]
    )
    seen = {
        line.name: (line.resource_type, line.what, line.pool, line.unpriced, line.gpus["floor"], line.gpus["ceiling"])
        for line in lines
    }
    assert seen == {
        "gpu-ng": (
            "aws:eks/nodeGroup:NodeGroup",
            "p5.48xlarge + 500 GiB gp3 each",
            "h100",
            [],
            {"H100 80GB": 8},
            {"H100 80GB": 16},
        ),
        "mixed": (
            "aws:eks/nodeGroup:NodeGroup",
            "g6e.12xlarge/p5.48xlarge + 100 GiB gp3 each",
            "mixed",
            [],
            {"L40S": 4},
            {"H100 80GB": 24},
        ),
        "odd": ("aws:eks/nodeGroup:NodeGroup", "m7i.xlarge/g6e.xlarge + 20 GiB gp3 each", "odd", [], {}, {"L40S": 1}),
        "unknown-ng": (
            "aws:eks/nodeGroup:NodeGroup",
            "? + 20 GiB gp3 each",
            None,
            ["instance type unknown", "scalingConfig.minSize not known", "scalingConfig.desiredSize not known"],
            {},
            {},
        ),
        "eks": ("aws:eks/cluster:Cluster", "EKS 1.35 control plane (standard support)", None, [], {}, {}),
        "eks2": ("aws:eks/cluster:Cluster", "EKS ? control plane (standard support)", None, [], {}, {}),
        "nat": ("aws:ec2/natGateway:NatGateway", "NAT gateway", None, [], {}, {}),
        "eip": ("aws:ec2/eip:Eip", "public IPv4 address", None, [], {}, {}),
        "ecr": ("aws:ec2/vpcEndpoint:VpcEndpoint", "interface endpoint in 3 AZ(s)", None, [], {}, {}),
        "key": ("aws:kms/key:Key", "KMS key", None, [], {}, {}),
    }
    usd = {line.name: line.usd_per_hour for line in lines}
    assert usd["mixed"] == pytest.approx(
        {"floor": node(G6E_12XL, 100), "expected": 0.0, "ceiling": 3 * node(P5, 100)}, abs=1e-9
    )
    assert usd["gpu-ng"]["ceiling"] == pytest.approx(2 * node(P5, 500))
    assert usd["unknown-ng"]["ceiling"] == pytest.approx(2 * 20 * GP3)  # its disks still cost
    assert usd["ecr"]["ceiling"] == pytest.approx(3 * ENDPOINT_AZ) and usd["key"]["ceiling"] == pytest.approx(KMS)
    assert usd["nat"]["floor"] == pytest.approx(NAT) and usd["eip"]["expected"] == pytest.approx(IPV4)
    assert gpus_of(lines, "ceiling") == {"H100 80GB": 40, "L40S": 1}


def test_a_provider_without_a_usable_region_leaves_the_resource_to_the_default_region():
    for region in ("", 5):
        group = pool("h100", "p5.48xlarge", 1)
        group.region = None
        from tests.policy_harness import _props

        class Seen:
            resource_type, urn, name = group.type, group.urn, group.name
            props, dependencies, property_dependencies = _props(group), [], {}
            provider = PolicyProviderResource("pulumi:providers:aws", {"region": region}, "urn:p", "aws")

        [line] = price_stack([Seen()], default_region="us-east-1")
        assert line.unpriced == [] and line.usd_per_hour["ceiling"] == pytest.approx(node(P5, 100))
        [line] = price_stack([Seen()])
        assert line.unpriced == ["region unknown"]


def test_usage_charges_are_listed_for_what_the_stack_has():
    def seen(*types: str) -> list:
        return [type("Seen", (), {"resource_type": t})() for t in types]

    table = price_table()
    assert set(usage_rates(seen("aws:s3/bucketV2:BucketV2"), "us-east-1", table)) == {"s3-standard-gb-month"}
    assert set(usage_rates(seen("aws:s3/bucket:Bucket"), "us-east-1", table)) == {"s3-standard-gb-month"}
    assert usage_rates(seen("aws:iam/role:Role"), "us-east-1", table) == {}
    assert set(
        usage_rates(seen("aws:cloudwatch/logGroup:LogGroup", "aws:ec2/natGateway:NatGateway"), "us-east-1", table)
    ) == {
        "logs-ingestion-gb",
        "logs-storage-gb-month",
        "nat-gateway-gb",
    }


def test_a_resource_whose_region_is_unknown_is_one_unpriced_line_that_still_says_what_it_is():
    no_region = pool("h100", "p5.48xlarge", 2)
    no_region.region = None
    iam = R("aws:iam/role:Role", "role", {})  # free: no line at all
    [line] = price_stack_of([no_region, iam])
    assert (line.name, line.resource_type, line.what, line.unpriced) == (
        "h100",
        "aws:eks/nodeGroup:NodeGroup",
        "p5.48xlarge + 100 GiB gp3 each",
        ["region unknown"],
    )
    assert line.urn == no_region.urn and line.usd_per_hour["ceiling"] == 0


def test_an_input_a_first_preview_does_not_know_makes_a_line_of_its_own_that_waits():
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    group = pool("later", "p5.48xlarge", 1).but(diskSize=unknown)
    [line] = price_stack_of([group])
    assert (line.urn, line.name, line.resource_type, line.what, line.unpriced) == (
        group.urn,
        "later",
        "aws:eks/nodeGroup:NodeGroup",
        "aws:eks/nodeGroup:NodeGroup",
        ["inputs not known until created"],
    )
    assert line.unknown is not None


def test_the_price_table_gives_each_price_with_its_source_and_the_day_it_was_read():
    import datetime

    table = price_table()
    assert table.ec2("p5.48xlarge", "us-east-1") == Price(P5, "karpenter")
    assert table.service("nat-gateway-hour", "us-east-1") == Price(NAT, "infracost-nat")
    assert table.ec2("p5.48xlarge", "ap-south-2") is None and table.service("nat-gateway-hour", "mars-1") is None
    assert datetime.date.fromisoformat(table.read) <= datetime.date.today()
    only = PriceTable(
        {
            "read": "2026-01-01",
            "ec2": {"x.large": {"usdPerHour": {"ap-south-1": [1.0, "s"]}}},
            "services": {"nat-gateway-hour": {"eu-west-1": [1.0, "s"]}},
        }
    )
    assert only.regions() == {"ap-south-1", "eu-west-1"}  # a region priced for EC2 alone counts


def test_extended_support_bills_from_the_day_standard_support_ends():
    import datetime

    ends = datetime.date(2026, 3, 23)  # 1.32 (prices.json eksStandardSupportEnds, the EKS calendar)
    table = price_table()
    assert table.extended_support("1.32", None, ends) is True
    assert table.extended_support("1.32", None, ends - datetime.timedelta(days=1)) is False
    assert table.extended_support("1.32", "STANDARD", ends) is False


def test_the_dollar_budget_lists_every_line_of_a_dollar_an_hour_or_more_and_leaves_out_the_rest():
    # an interface endpoint costs $0.01 per AZ-hour: in 100 subnets exactly $1.00/h, in 99 just under
    endpoint = R(
        "aws:ec2/vpcEndpoint:VpcEndpoint",
        "ecr",
        {"vpcEndpointType": "Interface", "subnetIds": [f"s{i}" for i in range(100)]},
        region="us-east-1",
    )
    cheaper = R(
        "aws:ec2/vpcEndpoint:VpcEndpoint", "sts", {**endpoint.props, "subnetIds": ["s"] * 99}, region="us-east-1"
    )
    [line] = price_stack_of([endpoint])
    assert line.usd_per_hour["ceiling"] == 1.0
    [message] = judge(
        budget.gpu_budget, [pool("h100", "p5.48xlarge", 1), endpoint, cheaper], {"maxCeilingUsdPerHour": 1}
    )
    assert message.startswith(f"ceiling ${node(P5, 100) + 1.99:,.2f}/h (h100 ${node(P5, 100):,.2f}, ecr $1.00), ")


def test_a_control_plane_without_a_known_region_still_says_which_support_it_bills():
    import datetime

    cluster = R("aws:eks/cluster:Cluster", "eks", {"version": "1.32"})  # no provider region
    [line] = price_stack_of([cluster], today=datetime.date(2026, 4, 1))
    assert (line.what, line.unpriced) == ("EKS 1.32 control plane (extended support)", ["region unknown"])
    [line] = price_stack_of([cluster.but(region="us-east-1")], today=datetime.date(2026, 4, 1))
    assert line.what == "EKS 1.32 control plane (extended support)"
    assert line.usd_per_hour["ceiling"] == pytest.approx(0.60)


def test_a_pool_with_no_instance_type_still_counts_its_disks_at_every_size():
    bare = R(
        "aws:eks/nodeGroup:NodeGroup",
        "bare-ng",
        {"scalingConfig": {"minSize": 1, "desiredSize": 2, "maxSize": 3}},
        region="us-east-1",
    )
    [line] = price_stack_of([bare])
    assert line.unpriced == ["instance type unknown"]
    assert line.usd_per_hour == pytest.approx({"floor": 20 * GP3, "expected": 2 * 20 * GP3, "ceiling": 3 * 20 * GP3})
