"""The Automation API facade against a stand-in for the CLI: the exact commands it runs, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from gpu_platform import automation
from gpu_platform.automation import (
    Backend,
    BackendError,
    ConcurrentUpdateError,
    Finding,
    InvalidConfigError,
    PlatformAutomationError,
    PlatformStack,
    PolicyPackNotReadyError,
    PolicyViolationError,
    PulumiCliNotFoundError,
    PulumiCliVersionError,
    StackNotFoundError,
    add_gpu_pool,
    load_config,
    to_raw,
)
from gpu_platform.components.config import load_platform_config

from tests.automation_cli import FakePulumi, policy_event
from tests.planning import MINIMAL, ROOT

PACK = str(ROOT / "policies")
DEV_POLICY = str(ROOT / "policies" / "config" / "dev.json")
PROD_POLICY = str(ROOT / "policies" / "config" / "prod.json")
NI = "--non-interactive"
STACK_URN = "urn:pulumi:{stack}::gpu-platform::pulumi:pulumi:Stack::gpu-platform-{stack}"
RESOURCES = {
    "gpu-platform-dev": "pulumi:pulumi:Stack",
    "gpu-platform-dev-storage-data": "aws:s3/bucket:Bucket",
    "gpu-platform-dev-shared-l4": "aws:eks/nodeGroup:NodeGroup",
}
PLACEMENT = "A GPU workload selects one pool, tolerates exactly its taint and asks for a resource it advertises."


def inline_tail(stack: str) -> list[str]:
    return [
        "--client=127.0.0.1:<port>",
        "--exec-kind",
        "auto.inline",
        "--event-log",
        "tcp://127.0.0.1:<port>",
        "--stack",
        stack,
    ]


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    return Backend.local(tmp_path / "state", passphrase="correct horse battery staple")


def dev_stack(cli: FakePulumi, backend: Backend, tmp_path: Path, **options) -> PlatformStack:
    return PlatformStack.inline(
        "dev", load_config("dev"), backend=backend, work_dir=tmp_path / "workspace", pulumi_command=cli, **options
    )


# --- stack selection and config --------------------------------------------------------------------


def test_a_missing_stack_is_created_then_given_its_config_and_secrets(backend, tmp_path):
    cli = FakePulumi()
    stack = dev_stack(cli, backend, tmp_path, secrets={"registryToken": "s3cr3t"})
    stack.stack()
    commands = cli.commands()
    assert commands[:3] == [
        ["version"],
        [NI, "stack", "select", "--stack", "dev"],
        [NI, "stack", "init", "dev", "--secrets-provider", "passphrase"],
    ]
    assert commands[3][:6] == [NI, "config", "set-all", "--stack", "dev", "--json"]
    platform = json.loads(commands[3][6])["gpu-platform:platform"]
    assert platform["secret"] is False and json.loads(platform["value"]) == platform["objectValue"]
    assert commands[4] == [NI, "config", "set-all", "--stack", "dev", "--secret", "gpu-platform:registryToken=s3cr3t"]
    assert len(commands) == 5
    # The CLI stored the object as an object and the token as a secret, like Pulumi.dev.yaml would hold them.
    stored = cli.stacks["dev"].config
    assert stored["gpu-platform:registryToken"] == {"value": "s3cr3t", "secret": True}
    assert load_platform_config(stored["gpu-platform:platform"]["objectValue"], "gpu-platform", "dev") == load_config(
        "dev"
    )
    assert {call.env["PULUMI_BACKEND_URL"] for call in cli.calls[1:]} == {f"file://{tmp_path / 'state'}"}
    assert {call.env["PULUMI_CONFIG_PASSPHRASE"] for call in cli.calls[1:]} == {"correct horse battery staple"}


def test_secret_fields_of_the_config_are_set_with_secret_into_the_platform_object(backend, tmp_path):
    webhook = "https://hooks.slack.com/services/T000/B000/team-a"
    raw = {**MINIMAL, "observability": {"alerting": {"slackWebhookUrl": webhook, "slackChannel": "#team-a"}}}
    cli = FakePulumi(("dev",))
    PlatformStack.inline(
        "dev",
        load_platform_config(raw, "gpu-platform", "dev"),
        backend=backend,
        work_dir=tmp_path,
        pulumi_command=cli,
        secrets={"registryToken": "s3cr3t"},
    ).stack()
    without_secret = {**MINIMAL, "observability": {"alerting": {"slackChannel": "#team-a"}}}
    assert cli.commands()[2:] == [
        [
            NI,
            "config",
            "set-all",
            "--stack",
            "dev",
            "--json",
            json.dumps(
                {
                    "gpu-platform:platform": {
                        "value": json.dumps(without_secret),
                        "objectValue": without_secret,
                        "secret": False,
                    }
                }
            ),
        ],
        [
            NI,
            "config",
            "set-all",
            "--stack",
            "dev",
            "--path",
            "--secret",
            f"gpu-platform:platform.observability.alerting.slackWebhookUrl={webhook}",
            "--secret",
            "gpu-platform:registryToken=s3cr3t",
        ],
    ]
    stored = cli.stacks["dev"].config["gpu-platform:platform"]
    assert stored["secret"] is True
    assert stored["objectValue"]["observability"]["alerting"] == {
        "slackChannel": "#team-a",
        "slackWebhookUrl": {"secure": "v1:0"},
    }
    assert cli.plaintexts == [webhook]
    assert cli.stacks["dev"].config["gpu-platform:registryToken"] == {"value": "s3cr3t", "secret": True}


def test_the_platform_object_is_written_as_a_user_writes_it(backend, tmp_path):
    config = add_gpu_pool(
        load_platform_config(MINIMAL, "gpu-platform", "team-a"),
        {"name": "team-a-l4", "instanceTypes": ["g6.xlarge"], "sharing": {"mode": "time-slicing", "replicas": 4}},
    )
    cli = FakePulumi(("team-a",))
    PlatformStack.inline("team-a", config, backend=backend, work_dir=tmp_path, pulumi_command=cli).stack()
    assert cli.commands()[2][6] == json.dumps(
        {
            "gpu-platform:platform": {
                "value": json.dumps(
                    {
                        **MINIMAL,
                        "gpuPools": [
                            {
                                "name": "team-a-l4",
                                "instanceTypes": ["g6.xlarge"],
                                "sharing": {"mode": "time-slicing", "replicas": 4},
                            }
                        ],
                    }
                ),
                "objectValue": {
                    **MINIMAL,
                    "gpuPools": [
                        {
                            "name": "team-a-l4",
                            "instanceTypes": ["g6.xlarge"],
                            "sharing": {"mode": "time-slicing", "replicas": 4},
                        }
                    ],
                },
                "secret": False,
            }
        }
    )


def test_the_config_written_for_dev_only_holds_keys_of_pulumi_dev_yaml(backend, tmp_path):
    written = to_raw(load_config("dev"))
    in_file = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]["gpu-platform:platform"]

    def keys(value, prefix=""):
        if isinstance(value, dict):
            return {k2 for k, v in value.items() for k2 in {prefix + k} | keys(v, prefix + k + ".")}
        if isinstance(value, list):
            return {k for i, v in enumerate(value) for k in keys(v, f"{prefix}{i}.")}
        return set()

    assert keys(written) <= keys(in_file)  # nothing invented: defaults and the derived bucket prefix left out
    assert load_platform_config(written, "gpu-platform", "dev") == load_config("dev")


def test_an_existing_stack_is_selected_not_created(backend, tmp_path):
    cli = FakePulumi(("dev",))
    dev_stack(cli, backend, tmp_path).stack()
    assert [c[:5] for c in cli.commands()[:3]] == [
        ["version"],
        [NI, "stack", "select", "--stack", "dev"],
        [NI, "config", "set-all", "--stack", "dev"],
    ]


def test_the_inline_workspace_has_the_project_name_and_runtime_of_pulumi_yaml(backend, tmp_path):
    dev_stack(FakePulumi(("dev",)), backend, tmp_path).stack()
    written = yaml.safe_load((tmp_path / "workspace" / "Pulumi.yaml").read_text())
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert written["name"] == project["name"] == "gpu-platform"
    # With `--client` the CLI runs no language host for it (pkg/cmd/pulumi/operations/io.go): the runtime is
    # Pulumi.yaml's, unchanged, and so are the config types the CLI checks the stack's values against.
    assert written["runtime"] == project["runtime"]
    assert written["config"]["platform"]["type"] == "object"


def test_the_local_program_runs_in_the_project_with_its_stack_file_untouched(backend):
    cli = FakePulumi(("prod",))
    stack = PlatformStack.local("prod", backend=backend, pulumi_command=cli)
    stack.preview()
    assert cli.commands()[1:] == [
        [NI, "stack", "select", "--stack", "prod"],
        [
            NI,
            "preview",
            "--policy-pack",
            PACK,
            "--policy-pack-config",
            PROD_POLICY,
            "--color",
            "never",
            "--exec-kind",
            "auto.local",
            "--event-log",
            "tcp://127.0.0.1:<port>",
            "--stack",
            "prod",
        ],
    ]
    assert {c.cwd for c in cli.calls[1:]} == {str(ROOT)}
    assert stack.config == load_config("prod")


def test_a_stack_without_policy_config_runs_with_the_pack_defaults(backend, tmp_path):
    cli = FakePulumi(("staging",))
    config = load_platform_config({**MINIMAL, "environment": "staging"}, "gpu-platform", "staging")
    PlatformStack.inline("staging", config, backend=backend, work_dir=tmp_path, pulumi_command=cli).preview()
    assert cli.commands()[-1] == [NI, "preview", "--policy-pack", PACK, "--color", "never", *inline_tail("staging")]


# --- operations ---------------------------------------------------------------------------------


def test_up_reports_changes_outputs_and_the_findings_of_the_engines_policy_events(backend, tmp_path):
    urn = STACK_URN.format(stack="dev")
    cli = FakePulumi(
        ("dev",),
        resources=RESOURCES,
        outputs={"clusterName": ("gpu-platform-dev-cluster", False), "kubeconfig": ({"apiVersion": "v1"}, True)},
        policy_events=[
            policy_event(
                "gpu-placement",
                "advisory",
                urn,
                PLACEMENT,
                "inference/llm: selects no GPU pool (nodeSelector gpu-platform.io/pool)",
            )
        ],
    )
    events, lines = [], []
    result = dev_stack(cli, backend, tmp_path).up(on_event=events.append, on_output=lines.append, message="team-a")

    assert cli.commands()[-4:] == [
        [
            NI,
            "up",
            "--yes",
            "--skip-preview",
            "--message",
            "team-a",
            "--policy-pack",
            PACK,
            "--policy-pack-config",
            DEV_POLICY,
            "--color",
            "never",
            *inline_tail("dev"),
        ],
        [NI, "stack", "output", "--json", "--stack", "dev"],
        [NI, "stack", "output", "--json", "--show-secrets", "--stack", "dev"],
        [NI, "stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", "dev"],
    ]
    assert result.findings == (
        Finding(
            policy="gpu-placement",
            enforcement_level="advisory",
            urn=urn,
            description=PLACEMENT,
            message="inference/llm: selects no GPU pool (nodeSelector gpu-platform.io/pool)",
        ),
    )
    assert (result.operation, result.result, result.version) == ("up", "succeeded", 1)
    assert result.changes.counts == {"create": 3} and result.changes.changed == 3
    assert result.outputs == {"clusterName": "gpu-platform-dev-cluster", "kubeconfig": {"apiVersion": "v1"}}
    assert result.secret_outputs == {"kubeconfig"}
    # The caller saw every engine event and every output line as they came.
    # The preview that runs first sent 10 events too; the caller gets those of the update:
    # prelude, 3 x (pre, outputs), policy, summary, cancel.
    assert len(events) == 10 and len(cli.events_sent) == 20
    assert [e.policy_event.policy_name for e in events if e.policy_event] == ["gpu-placement"]
    assert lines[0] == "Updating (dev):" and result.stdout == "\n".join(lines)


def test_a_mandatory_violation_stops_the_preview_with_its_findings(backend):
    urn = (
        "urn:pulumi:prod::gpu-platform::gpu-platform:index:Platform$gpu-platform:index:Storage$"
        "aws:s3/bucket:Bucket::gpu-platform-prod-storage-data"
    )
    description = "In production, stateful resources (buckets, KMS keys, ...) are protected from deletion."
    cli = FakePulumi(
        ("prod",),
        resources=RESOURCES,
        policy_events=[
            policy_event(
                "prod-protect-stateful",
                "mandatory",
                urn,
                description,
                "gpu-platform-prod-storage-data: not protected from deletion (protect is off) in stack prod",
            )
        ],
    )
    with pytest.raises(PolicyViolationError) as caught:
        PlatformStack.local("prod", backend=backend, pulumi_command=cli).preview()
    assert caught.value.findings == (
        Finding(
            "prod-protect-stateful",
            "mandatory",
            urn,
            "gpu-platform-prod-storage-data: not protected from deletion (protect is off) in stack prod",
            description,
        ),
    )
    assert "prod-protect-stateful on gpu-platform-prod-storage-data" in str(caught.value)
    assert caught.value.stderr == "error: preview failed"
    assert "- [mandatory]  prod-protect-stateful" in caught.value.stdout


def test_up_previews_first_so_a_mandatory_stack_finding_stops_it_before_anything_changes(backend, tmp_path):
    # AnalyzeStack runs only after an update's steps (pulumi/pulumi v3.202.0 deployment_executor.go), and the
    # Automation API runs `up --skip-preview`: the facade previews first, as `pulumi up` does.
    cli = FakePulumi(
        ("dev",),
        resources=RESOURCES,
        policy_events=[
            policy_event("gpu-budget", "mandatory", STACK_URN.format(stack="dev"), PLACEMENT, "too many GPUs")
        ],
    )
    with pytest.raises(PolicyViolationError):
        dev_stack(cli, backend, tmp_path).up()
    operations = [c[1] for c in cli.commands() if len(c) > 1 and c[1] in ("preview", "up")]
    assert operations == ["preview"]


def _with_esc_environments(monkeypatch, tmp_path) -> None:
    config = tmp_path / "esc.json"
    config.write_text(json.dumps({"environments": ["platform/dev-policy"], "cost-tags": "mandatory"}))
    monkeypatch.setattr(PlatformStack, "policy_config", property(lambda self: config))


def test_esc_environments_in_the_policy_config_need_pulumi_cloud(backend, tmp_path, monkeypatch):
    # pulumi/pulumi pkg/engine/update.go: a self-managed backend has no ESC resolver and refuses them.
    _with_esc_environments(monkeypatch, tmp_path)
    with pytest.raises(BackendError, match="names ESC environments, which the CLI opens only with a Pulumi Cloud"):
        dev_stack(FakePulumi(("dev",), resources=RESOURCES), backend, tmp_path).preview()


def test_esc_environments_in_the_policy_config_need_cli_3_231(tmp_path, monkeypatch):
    # Before v3.231.0 the CLI reads `environments` as a policy name and refuses its list value.
    _with_esc_environments(monkeypatch, tmp_path)
    cloud = Backend.of_url("https://api.pulumi.com")
    with pytest.raises(PulumiCliVersionError, match="v3.230.0; .* need v3.231.0 or newer"):
        dev_stack(FakePulumi(("dev",), resources=RESOURCES, version="v3.230.0"), cloud, tmp_path).preview()
    dev_stack(FakePulumi(("dev",), resources=RESOURCES, version="v3.231.0"), cloud, tmp_path).preview()


def test_refresh_and_destroy_run_without_the_pack_and_report_their_changes(backend, tmp_path):
    cli = FakePulumi(("dev",), resources=RESOURCES, outputs={"clusterName": ("gpu-platform-dev-cluster", False)})
    stack = dev_stack(cli, backend, tmp_path)
    stack.up()
    refreshed = stack.refresh()
    destroyed = stack.destroy()
    assert [c for c in cli.commands() if c[1:2] in (["refresh"], ["destroy"])] == [
        [NI, "refresh", "--skip-preview", "--yes", "--color", "never", *inline_tail("dev")],
        [NI, "destroy", "--skip-preview", "--yes", "--color", "never", *inline_tail("dev")],
    ]
    assert (refreshed.version, refreshed.changes.counts, refreshed.outputs) == (
        2,
        {"same": 3},
        {"clusterName": "gpu-platform-dev-cluster"},
    )
    assert (destroyed.version, destroyed.changes.counts, destroyed.outputs) == (3, {"delete": 3}, {})
    assert stack.outputs() == {}


def test_outputs_reads_the_stack_outputs(backend, tmp_path):
    cli = FakePulumi(("dev",), resources=RESOURCES, outputs={"vpcId": ("vpc-0abc", False)})
    stack = dev_stack(cli, backend, tmp_path)
    stack.up()
    assert stack.outputs() == {"vpcId": "vpc-0abc"}
    assert cli.commands()[-2:] == [
        [NI, "stack", "output", "--json", "--stack", "dev"],
        [NI, "stack", "output", "--json", "--show-secrets", "--stack", "dev"],
    ]


def test_events_also_come_from_an_event_log_file_with_older_clis(backend, tmp_path):
    cli = FakePulumi(
        ("dev",),
        resources=RESOURCES,
        version="v3.203.0",
        policy_events=[
            policy_event("gpu-placement", "advisory", STACK_URN.format(stack="dev"), PLACEMENT, "a finding")
        ],
    )
    result = dev_stack(cli, backend, tmp_path).preview()
    log = cli.commands()[-1][cli.commands()[-1].index("--event-log") + 1]
    assert log.endswith("eventlog.txt")
    assert [f.message for f in result.findings] == ["a finding"]
    assert result.changes.counts == {"create": 3}


def test_any_backend_url_and_secrets_provider_by_option(tmp_path):
    cli = FakePulumi()
    backend = Backend.of_url("s3://platform-state/gpu-platform", secrets_provider="awskms://alias/pulumi-state")
    dev_stack(cli, backend, tmp_path).stack()
    assert cli.commands()[2] == [NI, "stack", "init", "dev", "--secrets-provider", "awskms://alias/pulumi-state"]
    assert {c.env["PULUMI_BACKEND_URL"] for c in cli.calls[1:]} == {"s3://platform-state/gpu-platform"}


# --- errors -----------------------------------------------------------------------------------------


def test_selecting_a_missing_stack_without_create_raises_stack_not_found(backend, tmp_path):
    cli = FakePulumi()
    with pytest.raises(StackNotFoundError, match="no stack named 'dev'"):
        dev_stack(cli, backend, tmp_path, create=False).preview()
    assert cli.commands() == [["version"], [NI, "stack", "select", "--stack", "dev"]]


def test_an_update_while_another_holds_the_lock_raises_concurrent_update(backend, tmp_path):
    cli = FakePulumi(("dev",), locked=("dev",))
    with pytest.raises(ConcurrentUpdateError, match="another update of stack dev is in progress") as caught:
        dev_stack(cli, backend, tmp_path).up()
    assert "created by platform-bot@ci" in caught.value.detail


def test_a_missing_cli_raises_with_how_to_install_it(backend, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `pulumi` anywhere
    stack = PlatformStack.inline("dev", load_config("dev"), backend=backend, work_dir=tmp_path)
    with pytest.raises(PulumiCliNotFoundError) as caught:
        stack.preview()
    assert "curl -fsSL https://get.pulumi.com | sh" in str(caught.value)
    assert isinstance(caught.value.__cause__, FileNotFoundError)
    with pytest.raises(PulumiCliNotFoundError, match="/opt/nowhere/bin/pulumi"):
        PlatformStack.inline("dev", load_config("dev"), backend=backend, pulumi_root="/opt/nowhere").up()


def test_a_bad_config_raises_before_any_command(backend, tmp_path):
    cli = FakePulumi(("dev",))
    config = load_config("dev")
    unchecked = config.model_copy(update={"network": config.network.model_copy(update={"az_count": 1})})
    with pytest.raises(InvalidConfigError) as caught:
        PlatformStack.inline("dev", unchecked, backend=backend, pulumi_command=cli)
    assert caught.value.problems == ["platform.network.azCount: must be between 2 and 6 (got 1)"]
    with pytest.raises(InvalidConfigError, match="no stack file Pulumi.qa.yaml"):
        PlatformStack.local("qa", backend=backend, pulumi_command=cli)
    assert cli.commands() == [["version"]]


def test_a_team_pool_that_does_not_fit_its_gpu_is_refused_in_code():
    with pytest.raises(InvalidConfigError) as caught:
        add_gpu_pool(
            load_config("dev"),
            {"name": "team-a", "instanceTypes": ["g6.xlarge"], "sharing": {"mode": "mig", "layout": "all-1g"}},
        )
    assert caught.value.problems == [
        "platform.gpuPools[team-a].sharing.mode: L4 (g6.xlarge) has no MIG; share it with time-slicing"
    ]


def test_a_file_backend_without_a_passphrase_is_refused(tmp_path, monkeypatch):
    for var in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(var, raising=False)
    cli = FakePulumi()
    with pytest.raises(BackendError, match="PULUMI_CONFIG_PASSPHRASE"):
        dev_stack(cli, Backend.local(tmp_path / "state"), tmp_path).preview()
    assert cli.commands() == [["version"]]


@pytest.mark.parametrize("url", ["s3://platform-state/gpu", "gs://platform-state", "azblob://state"])
def test_a_self_managed_backend_without_secrets_provider_needs_a_passphrase_too(url, tmp_path, monkeypatch):
    # The CLI encrypts secrets of self-managed backends with a passphrase unless told otherwise.
    for var in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(BackendError, match="PULUMI_CONFIG_PASSPHRASE"):
        Backend.of_url(url).env()
    assert Backend.of_url(url, secrets_provider="awskms://alias/pulumi").env()["PULUMI_BACKEND_URL"] == url
    assert Backend.of_url("https://api.pulumi.com").env()  # Pulumi Cloud encrypts for you


def test_postgres_and_default_secrets_are_self_managed_too_and_an_empty_passphrase_file_is_none(monkeypatch):
    for var in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"):
        monkeypatch.delenv(var, raising=False)
    for backend in (Backend.of_url("postgres://state/pulumi"), Backend.of_url("s3://b", secrets_provider="default")):
        with pytest.raises(BackendError):
            backend.env()
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
    with pytest.raises(BackendError):
        Backend.of_url("s3://b").env()


def test_an_empty_passphrase_is_a_passphrase(tmp_path, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    assert Backend.local(tmp_path / "state").env()["PULUMI_BACKEND_URL"].startswith("file://")


def test_every_error_is_a_platform_automation_error():
    errors = [getattr(automation, name) for name in automation.__all__ if name.endswith("Error")]
    assert len(errors) == 12
    assert all(issubclass(e, PlatformAutomationError) for e in errors)


# --- what the real CLI needs -----------------------------------------------------------------------


def test_a_cli_older_than_3_202_is_refused_naming_the_version_it_needs(backend, tmp_path):
    # `pulumi config set-all --json` came in v3.202.0; an older CLI would answer "unknown flag: --json".
    cli = FakePulumi(("dev",), version="v3.201.0")
    with pytest.raises(PulumiCliVersionError) as raised:
        dev_stack(cli, backend, tmp_path).stack()
    assert str(raised.value).startswith("the Pulumi CLI is v3.201.0; this facade needs v3.202.0 or newer")
    assert [c.argv for c in cli.calls] == [["version"]]  # refused before any command


def test_the_cli_stand_in_refuses_flags_its_version_lacks():
    from pulumi.automation.errors import CommandError

    old = FakePulumi(("dev",), version="v3.201.0")
    with pytest.raises(CommandError) as raised:
        old.run(["config", "set-all", "--stack", "dev", "--json", "{}"], ".", {})
    assert "unknown flag: --json" in str(raised.value)


def test_preview_without_the_packs_virtualenv_says_how_to_build_it(backend, tmp_path, monkeypatch):
    pack = tmp_path / "policies"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text((ROOT / "policies" / "PulumiPolicy.yaml").read_text())  # no venv
    monkeypatch.setattr(PlatformStack, "policy_pack", property(lambda self: pack))
    cli = FakePulumi(("dev",))
    with pytest.raises(PolicyPackNotReadyError) as raised:
        dev_stack(cli, backend, tmp_path).preview()
    assert "make policy-venv" in str(raised.value) and str(pack / "venv") in str(raised.value)
    assert not any(c.argv[:1] in (["preview"], ["--non-interactive"]) and "preview" in c.argv for c in cli.calls)


def _installed_copy(tmp_path: Path) -> Path:
    """What `pip install` puts in site-packages: the program's files, no pyproject.toml, no pack venv."""
    import shutil

    copy = tmp_path / "site-packages" / "gpu_platform"
    copy.mkdir(parents=True)
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "policies", copy / "policies", ignore=shutil.ignore_patterns("venv", "__pycache__"))
    return copy


def test_an_installed_copy_runs_its_pack_with_this_interpreter_from_a_copy_outside_site_packages(tmp_path):
    import sys

    copy = _installed_copy(tmp_path)
    stack = PlatformStack(
        "dev", load_config("dev"), inline=True, set_config=True, project_dir=copy, work_dir=tmp_path / "cache"
    )
    pack = stack.policy_pack
    assert pack.parent == tmp_path / "cache" and not pack.is_relative_to(copy)
    assert yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["runtime"] == {
        "name": "python",
        "options": {"virtualenv": sys.prefix},
    }
    assert (pack / "__main__.py").exists() and (pack / "config" / "dev.json").exists()
    stack._check_policy_pack()  # this interpreter has pulumi-policy: ready without a venv in site-packages


def test_local_names_inline_as_the_way_for_an_installed_copy(tmp_path):
    with pytest.raises(InvalidConfigError, match="is an installed copy .* use PlatformStack.inline"):
        PlatformStack.local("dev", project_dir=_installed_copy(tmp_path))
