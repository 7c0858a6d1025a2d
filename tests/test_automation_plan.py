"""`plan()`: the offline plan and its policy review, the same whichever way the program is pointed at."""

from __future__ import annotations

import json

import pytest
from gpu_platform.automation import PLATFORM_KEY, PlatformStack, add_gpu_pool, load_config, to_raw
from gpu_platform.components.platform import stack_program
from gpu_platform.offline import plan
from gpu_platform.offline.engine import StackConfig, run_program

from tests.planning import PROJECT, ROOT, Plan, fixture_platform


def fixture(stack: str):
    """The tests' own dev or prod config (tests/fixtures/), as a PlatformConfig."""
    from gpu_platform.components.config import load_platform_config

    return load_platform_config(fixture_platform(stack), PROJECT, stack)


PROTECT = (
    "In production, stateful resources (buckets, KMS keys, ...) are protected from deletion: set "
    "storage.protect: true in Pulumi.<stack>.yaml (protect=True, no forceDestroy)."
)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_inline_and_local_programs_give_the_same_offline_plan(stack):
    config = load_config(stack)  # from Pulumi.<stack>.yaml
    local = plan.deployment(run_program(ROOT, stack))  # __main__.py reading the stack file
    inline = plan.deployment(
        run_program(
            ROOT,
            stack,
            StackConfig({PLATFORM_KEY: json.dumps(to_raw(config))}, []),
            program=lambda: stack_program(config),
        )
    )
    assert len(local["deployment"]["resources"]) > 50
    assert inline == local


def test_plan_of_prod_with_unprotected_storage_returns_the_prod_protect_stateful_findings(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no CLI needed
    config = fixture("prod")
    unprotected = config.model_copy(update={"storage": config.storage.model_copy(update={"protect": False})})
    result = PlatformStack.inline("prod", unprotected).plan()

    assert not result.passed
    assert result.policy_config == str(ROOT / "policies" / "config" / "prod.json")
    assert {(f.policy, f.resource, f.message, f.description) for f in result.blocking} == {
        ("prod-protect-stateful", name, f"{name}: {problem}", PROTECT)
        for name, problem in [
            ("gpu-platform-prod-cluster-secrets", "not protected from deletion (protect is off) in stack prod"),
            ("gpu-platform-prod-storage-key", "not protected from deletion (protect is off) in stack prod"),
            ("gpu-platform-prod-logs", "not protected from deletion (protect is off) in stack prod"),
            ("gpu-platform-prod-storage-data", "not protected from deletion (protect is off) in stack prod"),
            ("gpu-platform-prod-storage-data", "forceDestroy is on, so deleting it would delete its objects"),
            ("gpu-platform-prod-storage-logs", "not protected from deletion (protect is off) in stack prod"),
            ("gpu-platform-prod-storage-logs", "forceDestroy is on, so deleting it would delete its objects"),
        ]
    }


def test_plan_of_the_prod_stack_file_passes():
    result = PlatformStack.local("prod").plan()
    assert result.passed and result.blocking == ()
    # the same plan `python -m offline plan` writes
    assert result.document == plan.deployment(run_program(ROOT, "prod"))


def test_a_team_gets_a_time_sliced_pool_in_dev():
    config = add_gpu_pool(
        fixture("dev"),
        {
            "name": "team-a-l4",
            "instanceTypes": ["g6.xlarge"],
            "size": {"minSize": 0, "desiredSize": 0, "maxSize": 2},
            "sharing": {"mode": "time-slicing", "replicas": 4},
        },
    )
    result = PlatformStack.inline("dev", config).plan()
    assert result.passed
    pool = Plan(result.document).named("aws:eks/nodeGroup:NodeGroup", "gpu-platform-dev-team-a-l4")
    assert pool["inputs"]["scalingConfig"] == {"minSize": 0, "desiredSize": 0, "maxSize": 2}
    assert set(result.outputs["gpuPools"]) == {"shared-l4", "team-a-l4"}


def _broken_pack(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.1.0\n")
    (pack / "__main__.py").write_text(
        "import sys\nprint('cannot import pulumi_policy here', file=sys.stderr)\nsys.exit(3)\n"
    )
    return pack


def test_a_policy_pack_that_cannot_start_is_a_plan_error_with_its_own_stderr(tmp_path, monkeypatch):
    from gpu_platform.automation import PlanError

    monkeypatch.setenv("PATH", str(tmp_path))
    pack = _broken_pack(tmp_path)
    monkeypatch.setattr(PlatformStack, "policy_pack", property(lambda self: pack))
    with pytest.raises(PlanError, match="did not start .*cannot import pulumi_policy here"):
        PlatformStack.inline("dev", load_config("dev")).plan()


def test_the_review_of_a_pack_that_cannot_start_names_it_and_shows_its_stderr(tmp_path):
    from gpu_platform.offline import review

    with pytest.raises(review.ReviewError) as failed:
        review.Analyzer(_broken_pack(tmp_path))
    assert "did not start" in str(failed.value) and "cannot import pulumi_policy here" in str(failed.value)
    assert "closed file" not in str(failed.value)


def test_plan_outputs_are_plain_values_and_name_the_secret_ones_as_update_results_do():
    from gpu_platform.offline.wire import SPECIAL_SIG

    result = PlatformStack.inline("dev", fixture("dev")).plan()
    assert "kubeconfig" in result.secret_outputs and "clusterName" not in result.secret_outputs
    assert SPECIAL_SIG not in json.dumps(result.outputs)
    assert result.outputs["clusterName"] == "gpu-platform-dev-cluster"


def test_a_config_can_be_a_mapping_and_anything_else_is_a_clear_error():
    from gpu_platform.automation import InvalidConfigError

    from tests.planning import fixture_platform

    assert PlatformStack.inline("dev", fixture_platform("dev")).config == fixture("dev")
    with pytest.raises(InvalidConfigError, match="config: must be a PlatformConfig or a mapping"):
        PlatformStack.inline("dev", ["not", "a", "config"])  # type: ignore[arg-type]
