"""The Region table agrees with an independent copy (cfn-lint's), and the offline cloud answers from it."""

from __future__ import annotations

from cfnlint.helpers import AVAILABILITY_ZONES
from gpu_platform.components import regions

# cfn-lint also lists the isolated partitions (us-iso*, eu-isoe, eusc), which EKS users cannot reach.
ISOLATED = ("us-iso", "eu-isoe", "eusc-")


def test_every_region_cfn_lint_knows_is_in_the_table_and_no_other():
    reachable = {code for code in AVAILABILITY_ZONES if not code.startswith(ISOLATED)}
    assert set(regions.REGIONS) == reachable


def test_each_regions_zones_are_zones_cfn_lint_knows():
    for code, region in regions.REGIONS.items():
        assert set(region.zones) <= set(AVAILABILITY_ZONES[code]), code
        assert len(region.zones) >= 2, code


def test_partitions_and_opt_in():
    assert regions.REGIONS["cn-north-1"].partition == "aws-cn"
    assert regions.REGIONS["cn-north-1"].dns_suffix == "amazonaws.com.cn"
    assert regions.REGIONS["us-gov-west-1"].partition == "aws-us-gov"
    assert regions.REGIONS["eu-west-1"].partition == "aws" and not regions.REGIONS["eu-west-1"].opt_in
    assert regions.REGIONS["af-south-1"].opt_in and regions.REGIONS["ap-southeast-7"].opt_in


def test_the_plan_of_an_opt_in_region_says_to_enable_it_first():
    from gpu_platform.offline import plan
    from gpu_platform.offline.engine import run_program

    from tests.planning import MINIMAL, ROOT, stack_config

    summary = plan.summary(plan.deployment(run_program(ROOT, "dev", stack_config({**MINIMAL, "region": "eu-south-2"}))))
    assert (
        "eu-south-2 is an opt-in Region: enable it for the account first (aws account enable-region "
        "--region-name eu-south-2)"
    ) in summary
    assert "opt-in" not in plan.summary(plan.deployment(run_program(ROOT, "dev", stack_config(MINIMAL))))
