"""PlatformStack: one stack of the platform, planned offline or deployed through the Automation API.

Nothing touches the CLI until a method needs it: constructing a PlatformStack
only validates its config, and `plan()` never needs the CLI at all. Previews
and updates always run with this repository's policy pack and the stack's
policy config (`policies/config/<stack>.json` when there is one).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import grpc
import pulumi
import yaml
from botocore.exceptions import BotoCoreError, ClientError
from gpu_platform.automation.backend import CLOUD_SCHEMES, Backend
from gpu_platform.automation.config import (
    PLATFORM_KEY,
    PROJECT,
    PROJECT_DIR,
    as_config,
    read_stack_file,
    secret_paths,
    short_name,
    to_raw,
    validate,
)
from gpu_platform.automation.errors import (
    BackendError,
    ConcurrentUpdateError,
    InvalidConfigError,
    LeftoversBlockDestroyError,
    OperationFailedError,
    PlanError,
    PolicyPackNotReadyError,
    PolicyViolationError,
    PulumiCliNotFoundError,
    PulumiCliVersionError,
    StackNotFoundError,
)
from gpu_platform.automation.leftovers import AwsLeftovers, Leftover, LeftoverReport
from gpu_platform.automation.results import (
    ChangeSummary,
    EventCollector,
    OnEvent,
    OnOutput,
    PlanResult,
    PreviewResult,
    UpdateResult,
)
from gpu_platform.components.config import PlatformConfig
from gpu_platform.components.platform import stack_program
from gpu_platform.offline import cost as offline_cost
from gpu_platform.offline import plan as offline_plan
from gpu_platform.offline import review
from gpu_platform.offline.cloud import UnknownCall
from gpu_platform.offline.engine import EngineError, StackConfig, read_stack_config, run_program
from gpu_platform.offline.wire import is_secret
from pulumi import automation as auto
from semver import VersionInfo

# `pulumi config set-all --json`, which writes the whole config in one call, exists from CLI v3.202.0
# (pulumi/pulumi CHANGELOG 3.202.0, "config set-all --json"); older CLIs answer "unknown flag: --json".
CLI_MIN_VERSION = VersionInfo(3, 202, 0)
ESC_POLICY_CLI = VersionInfo(3, 231, 0)  # policy config `environments` (pulumi/pulumi#22495)
CLI_NEEDED = (
    f"this facade needs v{CLI_MIN_VERSION} or newer (for `pulumi config set-all --json`): "
    "upgrade it with `curl -fsSL https://get.pulumi.com | sh`"
)

# The Pulumi Python runtime keeps its settings per process: an offline plan and an inline
# program must not run at the same time in one process.
_PROGRAM_LOCK = threading.RLock()


class _Streams:
    """`on_output`/`on_error` callbacks that keep the lines and pass stdout on to the caller."""

    def __init__(self, forward: OnOutput | None) -> None:
        self._forward = forward
        self.out: list[str] = []
        self.err: list[str] = []

    def on_output(self, line: str) -> None:
        self.out.append(line)
        if self._forward is not None:
            self._forward(line)

    def on_error(self, line: str) -> None:
        self.err.append(line)
        if self._forward is not None:
            self._forward(line)

    @property
    def stdout(self) -> str:
        return "\n".join(self.out)

    @property
    def stderr(self) -> str:
        return "\n".join(self.err)


DEFAULT_PACK_CACHE = Path.home() / ".cache" / "gpu-platform"


def is_checkout(project_dir: Path) -> bool:
    """A checkout of this project (its pyproject.toml beside Pulumi.yaml), not an installed copy."""
    return (Path(project_dir) / "pyproject.toml").exists()


def installed_pack(pack: Path, cache: Path) -> Path:
    """A copy of an installed copy's policy pack that the CLI runs with this interpreter."""
    settings = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())
    target = cache / f"policy-pack-{settings.get('version', '0')}"
    shutil.copytree(pack, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("venv", "__pycache__"))
    settings["runtime"] = {"name": "python", "options": {"virtualenv": sys.prefix}}
    (target / "PulumiPolicy.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return target


class PlatformStack:
    """A stack of the platform and its validated config.

    Build one with `PlatformStack.local(...)` (the project directory and its
    `Pulumi.<stack>.yaml`, run by the CLI like `pulumi up`) or
    `PlatformStack.inline(...)` (a config object built in code, run in this
    process as an inline program). Both build the same `Platform`.
    """

    def __init__(
        self,
        stack: str,
        config: PlatformConfig,
        *,
        inline: bool,
        set_config: bool,
        project_dir: Path = PROJECT_DIR,
        backend: Backend | None = None,
        create: bool = True,
        secrets: Mapping[str, str] | None = None,
        work_dir: Path | str | None = None,
        pulumi_command: auto.PulumiCommand | None = None,
        pulumi_root: str | None = None,
    ) -> None:
        self.name = stack
        self.config = config
        self.runs_inline = inline
        self.project_dir = Path(project_dir).resolve()
        self.backend = backend or Backend.local()
        self.create = create
        self.secrets = {self._key(k): v for k, v in (secrets or {}).items()}
        self.work_dir = Path(work_dir) if work_dir is not None else None
        self._set_config = set_config
        self._pulumi_command = pulumi_command
        self._pulumi_root = pulumi_root
        self._stack: auto.Stack | None = None

    # --- construction -----------------------------------------------------------------

    @classmethod
    def local(
        cls,
        stack: str,
        config: PlatformConfig | Mapping[str, Any] | None = None,
        *,
        project_dir: Path = PROJECT_DIR,
        backend: Backend | None = None,
        create: bool = True,
        secrets: Mapping[str, str] | None = None,
        work_dir: Path | str | None = None,
        pulumi_command: auto.PulumiCommand | None = None,
        pulumi_root: str | None = None,
    ) -> PlatformStack:
        """The project's own program (`__main__.py`) for `stack`.

        Without `config`, the stack's `Pulumi.<stack>.yaml` is the config (validated here, set as is).
        With `config` (a PlatformConfig or the raw `platform` mapping), it is validated and written to the
        stack's config with `pulumi config set-all`.
        """
        if not is_checkout(project_dir):
            raise InvalidConfigError(
                stack,
                [
                    (
                        f"PlatformStack.local runs the program of a checkout of this project, and {project_dir} is an "
                        "installed copy (no pyproject.toml): use PlatformStack.inline(stack, config), with "
                        "load_config(stack) or a config of your own"
                    )
                ],
            )
        if config is None:
            validated = validate(read_stack_file(stack, project_dir).get(PLATFORM_KEY), stack)
        else:
            validated = as_config(config, stack)
        return cls(
            stack,
            validated,
            inline=False,
            set_config=config is not None,
            project_dir=project_dir,
            backend=backend,
            create=create,
            secrets=secrets,
            work_dir=work_dir,
            pulumi_command=pulumi_command,
            pulumi_root=pulumi_root,
        )

    @classmethod
    def inline(
        cls,
        stack: str,
        config: PlatformConfig | Mapping[str, Any],
        *,
        backend: Backend | None = None,
        create: bool = True,
        secrets: Mapping[str, str] | None = None,
        work_dir: Path | str | None = None,
        pulumi_command: auto.PulumiCommand | None = None,
        pulumi_root: str | None = None,
    ) -> PlatformStack:
        """An inline program: `stack_program(config)` in this process, for a config built in code (a
        PlatformConfig or the raw `platform` mapping)."""
        return cls(
            stack,
            as_config(config, stack),
            inline=True,
            set_config=True,
            backend=backend,
            create=create,
            secrets=secrets,
            work_dir=work_dir,
            pulumi_command=pulumi_command,
            pulumi_root=pulumi_root,
        )

    @staticmethod
    def _key(key: str) -> str:
        full = key if ":" in key else f"{PROJECT}:{key}"
        if full == PLATFORM_KEY:
            raise ValueError(f"{PLATFORM_KEY} comes from the PlatformConfig, not from secrets")
        return full

    # --- what previews and updates run with ----------------------------------------------

    @functools.cached_property
    def policy_pack(self) -> Path:
        """The pack the CLI runs: the checkout's `policies/`, or, for an installed copy (whose site-packages
        must not hold a virtualenv), a copy of it set to run with this interpreter, which has pulumi-policy
        (a dependency of the package): PulumiPolicy.yaml's `virtualenv` may be any path."""
        pack = self.project_dir / "policies"
        if is_checkout(self.project_dir) or (pack / "venv").exists():
            return pack
        return installed_pack(pack, Path(self.work_dir) if self.work_dir else DEFAULT_PACK_CACHE)

    @property
    def policy_config(self) -> Path | None:
        """`policies/config/<stack>.json`, or None: the pack's own defaults."""
        path = self.policy_pack / "config" / f"{short_name(self.name)}.json"
        return path if path.exists() else None

    def _policy_args(self) -> tuple[list[str], list[str] | None]:
        """`--policy-pack` and `--policy-pack-config` of a preview or update."""
        if self.policy_config is None:
            return [str(self.policy_pack)], None
        self._check_policy_environments(self.policy_config)
        return [str(self.policy_pack)], [str(self.policy_config)]

    def _check_policy_environments(self, path: Path) -> None:
        """A policy config's `environments` (Pulumi ESC) work from CLI v3.231.0 and with Pulumi Cloud only:
        older CLIs take the key for a policy and refuse its list, and the engine refuses them on a
        self-managed backend (pulumi/pulumi pkg/resource/analyzer/config.go, pkg/engine/update.go)."""
        try:
            environments = json.loads(path.read_text().strip() or "{}").get("environments")
        except (ValueError, AttributeError):
            return  # the CLI reports a malformed file itself
        if not environments:
            return
        if not self.backend.url.startswith(CLOUD_SCHEMES):
            raise BackendError(
                f"{path} names ESC environments, which the CLI opens only with a Pulumi Cloud "
                f"backend, not {self.backend.url}; remove `environments` or use Pulumi Cloud"
            )
        found = self._command().version
        if found is not None and found.compare(ESC_POLICY_CLI) < 0:
            raise PulumiCliVersionError(
                f"the Pulumi CLI is v{found}; {path} names ESC environments, which need v{ESC_POLICY_CLI} or newer"
            )

    def program(self) -> None:
        """The inline program: the same Platform `__main__.py` builds, from this stack's config."""
        stack_program(self.config)

    # --- the offline plan -------------------------------------------------------------------

    def _offline_config(self) -> StackConfig:
        if self._set_config:
            values = {PLATFORM_KEY: json.dumps(to_raw(self.config))}
            secret_keys: list[str] = [PLATFORM_KEY] if secret_paths(self.config) else []
        else:
            from_file = read_stack_config(self.project_dir, short_name(self.name))
            values, secret_keys = dict(from_file.values), list(from_file.secret_keys)
        values.update(self.secrets)
        return StackConfig(values, secret_keys + sorted(self.secrets))

    def plan(self) -> PlanResult:
        """The offline plan of this stack and its policy review. Needs neither the CLI nor a cloud account."""
        start = time.monotonic()
        name = short_name(self.name)
        try:
            with _PROGRAM_LOCK:
                recording = run_program(
                    self.project_dir, name, self._offline_config(), program=self.program if self.runs_inline else None
                )
        except (EngineError, UnknownCall, pulumi.RunError) as err:
            raise PlanError(f"offline plan of stack {name} failed: {err}") from err
        document = offline_plan.deployment(recording)
        try:
            with review.Analyzer(self.policy_pack) as analyzer:
                report = review.review(Path(f"offline plan of {name}"), document, analyzer, self.policy_config)
        except review.ReviewError as err:
            raise PlanError(f"policy review of stack {name} failed: {err}") from err
        except grpc.RpcError as err:
            raise PlanError(f"policy review of stack {name} failed: the policy pack failed: {err.details()}") from err
        exported = next(
            r.get("outputs", {}) for r in document["deployment"]["resources"] if r["type"] == "pulumi:pulumi:Stack"
        )
        try:
            cost, cost_error = offline_cost.to_json(offline_cost.cost_of(document)), ""
        except review.ReviewError as err:  # a region without prices: the plan stands, its cost is unknown
            cost, cost_error = None, str(err)
        return PlanResult(
            stack=name,
            document=document,
            summary=offline_plan.summary(document),
            outputs={k: offline_plan.plain_value(v) for k, v in exported.items()},
            secret_outputs=frozenset(k for k, v in exported.items() if is_secret(v)),
            findings=tuple(report.findings),
            policy_config=str(self.policy_config or ""),
            duration_seconds=time.monotonic() - start,
            cost=cost,
            cost_error=cost_error,
        )

    # --- the CLI --------------------------------------------------------------------------

    def _command(self) -> auto.PulumiCommand:
        if self._pulumi_command is None:
            where = f"{self._pulumi_root}/bin/pulumi" if self._pulumi_root else "`pulumi` on PATH"
            try:
                self._pulumi_command = auto.PulumiCommand(root=self._pulumi_root, version=CLI_MIN_VERSION)
            except FileNotFoundError as err:
                raise PulumiCliNotFoundError(where) from err
            except PermissionError as err:
                raise PulumiCliNotFoundError(f"{where} is not executable") from err
            except subprocess.CalledProcessError as err:
                raise PulumiCliVersionError(f"`{where} version` failed with exit code {err.returncode}") from err
            except auto.InvalidVersionError as err:
                raise PulumiCliVersionError(f"{err}; {CLI_NEEDED}") from err
        found = self._pulumi_command.version
        if found is not None and found.compare(CLI_MIN_VERSION) < 0:
            raise PulumiCliVersionError(f"the Pulumi CLI is v{found}; {CLI_NEEDED}")
        return self._pulumi_command

    def _check_policy_pack(self) -> None:
        """The CLI runs the pack with the virtualenv PulumiPolicy.yaml names (relative to the pack: `venv`), and
        never creates it."""
        pack = self.policy_pack
        options = (yaml.safe_load((pack / "PulumiPolicy.yaml").read_text()).get("runtime") or {}).get("options") or {}
        venv = pack / str(options.get("virtualenv", "venv"))  # an absolute path stays as it is
        if not (venv / "bin" / "python").exists() or not any(venv.glob("lib/python*/site-packages/pulumi_policy")):
            raise PolicyPackNotReadyError(
                f"the policy pack's virtualenv {venv} is missing or lacks pulumi-policy, and `pulumi preview "
                "--policy-pack` runs the pack with it without creating it; build it with `make policy-venv` "
                f"(or `python3 -m venv {venv} && {venv}/bin/pip "
                f"install -r {pack / 'requirements.txt'}`)"
            )

    def _project_settings(self) -> auto.ProjectSettings:
        """Pulumi.yaml of this project, for the inline program's workspace: same name, runtime and config types.

        An inline program runs in this process and the CLI connects to it with `--client`: it then replaces
        the project's runtime with `client` (pulumi/pulumi v3.202.0 pkg/cmd/pulumi/operations/io.go
        readProjectForUpdate), starts no Python language host and reads no virtualenv; this process's
        language server lists no plugins (sdk/python pulumi/automation/_server.py GetRequiredPlugins), so
        the engine installs the providers the program asks for on demand. The runtime is kept only so the
        workspace's Pulumi.yaml stays a valid project file.
        """
        settings = auto.ProjectSettings.from_dict(yaml.safe_load((self.project_dir / "Pulumi.yaml").read_text()))
        settings.main = str(self.project_dir)
        return settings

    def _workspace_options(self) -> auto.LocalWorkspaceOptions:
        options = auto.LocalWorkspaceOptions(
            env_vars=self.backend.env(), secrets_provider=self.backend.secrets_provider, pulumi_command=self._command()
        )
        if self.runs_inline:
            options.project_settings = self._project_settings()
            if self.work_dir is not None:
                self.work_dir.mkdir(parents=True, exist_ok=True)
                options.work_dir = str(self.work_dir)
        return options

    def stack(self) -> auto.Stack:
        """The Automation API stack, selected (or created) and configured on first use."""
        if self._stack is None:
            options = self._workspace_options()
            with self._translated("select"):
                if self.runs_inline:
                    choose = auto.create_or_select_stack if self.create else auto.select_stack
                    stack = choose(self.name, project_name=PROJECT, program=self.program, opts=options)
                else:
                    choose = auto.create_or_select_stack if self.create else auto.select_stack
                    stack = choose(self.name, work_dir=str(self.project_dir), opts=options)
            with self._translated("config"):
                self._apply_config(stack)
            self._stack = stack
        return self._stack

    def _apply_config(self, stack: auto.Stack) -> None:
        secrets = dict(self.secrets)
        if self._set_config:
            raw = to_raw(self.config, secrets=False)
            # `pulumi config --json` form: an object value lands in Pulumi.<stack>.yaml as an object.
            stack.set_all_config_json(
                json.dumps({PLATFORM_KEY: {"value": json.dumps(raw), "objectValue": raw, "secret": False}})
            )
            # Secret fields go into that object encrypted, as `pulumi config set --secret --path` puts them.
            secrets.update({f"{PLATFORM_KEY}.{path}": value for path, value in secret_paths(self.config).items()})
        if secrets:
            stack.set_all_config(
                {k: auto.ConfigValue(value=v, secret=True) for k, v in sorted(secrets.items())},
                path=any(k.startswith(f"{PLATFORM_KEY}.") for k in secrets),
            )

    @contextmanager
    def _translated(
        self, operation: str, collector: EventCollector | None = None, streams: _Streams | None = None
    ) -> Iterator[None]:
        """The SDK's errors as this package's, each with what to do about it."""
        try:
            yield
        except auto.StackNotFoundError as err:
            raise StackNotFoundError(self.name, self.backend.url) from err
        except auto.ConcurrentUpdateError as err:
            raise ConcurrentUpdateError(
                self.name, _last_line(streams.stderr if streams else "") or _last_line(str(err))
            ) from err
        except auto.CommandError as err:
            stdout = streams.stdout if streams else ""
            stderr = streams.stderr if streams and streams.err else str(err)
            findings = collector.findings if collector else ()
            if any(f.enforcement_level == "mandatory" for f in findings):
                raise PolicyViolationError(operation, self.name, stdout, stderr, findings) from err
            raise OperationFailedError(operation, self.name, stdout, stderr, findings) from err

    @contextmanager
    def _operation(
        self, operation: str, on_event: OnEvent | None, on_output: OnOutput | None
    ) -> Iterator[tuple[auto.Stack, EventCollector, _Streams]]:
        self._command()  # the CLI first: without it nothing else matters
        if operation in ("preview", "up"):
            self._check_policy_pack()
        stack = self.stack()
        collector, streams = EventCollector(on_event), _Streams(on_output)
        lock = _PROGRAM_LOCK if self.runs_inline else nullcontext()
        with lock, self._translated(operation, collector, streams):
            yield stack, collector, streams

    # --- operations ------------------------------------------------------------------------

    def preview(self, on_event: OnEvent | None = None, on_output: OnOutput | None = None) -> PreviewResult:
        """`pulumi preview` with the policy pack. A mandatory violation raises PolicyViolationError."""
        start = time.monotonic()
        with self._operation("preview", on_event, on_output) as (stack, collector, streams):
            packs, configs = self._policy_args()
            result = stack.preview(
                on_event=collector,
                on_output=streams.on_output,
                on_error=streams.on_error,
                color="never",
                policy_packs=packs,
                policy_pack_configs=configs,
            )
        return PreviewResult(
            stack=self.name,
            changes=ChangeSummary.of(result.change_summary),
            findings=collector.findings,
            duration_seconds=time.monotonic() - start,
            stdout=result.stdout,
        )

    def up(
        self,
        on_event: OnEvent | None = None,
        on_output: OnOutput | None = None,
        message: str | None = None,
        preview_first: bool = True,
    ) -> UpdateResult:
        """`pulumi up` with the policy pack; returns the changes, the outputs and any advisory findings.

        The Automation API runs `up --skip-preview`, and the engine runs stack policies (AnalyzeStack) only
        after all of an update's steps (pulumi/pulumi v3.202.0 pkg/resource/deploy/deployment_executor.go):
        a mandatory stack finding would stop nothing. So, as `pulumi up` without --skip-preview does, a
        preview with the pack runs first (`preview_first`), and a mandatory violation there raises
        PolicyViolationError before anything changes.
        """
        if preview_first:
            self.preview()
        start = time.monotonic()
        with self._operation("up", on_event, on_output) as (stack, collector, streams):
            packs, configs = self._policy_args()
            result = stack.up(
                on_event=collector,
                on_output=streams.on_output,
                on_error=streams.on_error,
                color="never",
                message=message,
                policy_packs=packs,
                policy_pack_configs=configs,
            )
        return self._update_result("up", result.summary, result.outputs, collector, start, result.stdout)

    def refresh(self, on_event: OnEvent | None = None, on_output: OnOutput | None = None) -> UpdateResult:
        """`pulumi refresh`: adopt what the cloud really has into the stack's state."""
        start = time.monotonic()
        with self._operation("refresh", on_event, on_output) as (stack, collector, streams):
            result = stack.refresh(
                on_event=collector, on_output=streams.on_output, on_error=streams.on_error, color="never"
            )
            outputs = stack.outputs()
        return self._update_result("refresh", result.summary, outputs, collector, start, result.stdout)

    def destroy(
        self, on_event: OnEvent | None = None, on_output: OnOutput | None = None, remove_leftovers: bool = False
    ) -> UpdateResult:
        """`pulumi destroy`. Protected resources (storage.protect: true) make it fail, as they should.

        The program deletes Ingresses before the load balancer controller, and each deletion waits for the
        controller to remove its load balancer. Around that, what the cluster's controllers made in AWS outside
        Pulumi's state (automation/leftovers.py) is listed read-only: before (`leftovers.found`) and after
        (`leftovers.left_behind`). Only once EKS no longer has the cluster is anything still listed a leftover
        (a running controller owns, and would remake, what it made): then a destroy that failed on a
        DependencyViolation raises LeftoversBlockDestroyError naming them, and with `remove_leftovers` they are
        removed and the destroy runs once more.
        """
        aws = self._aws_leftovers()
        found, errors = _listed(aws)
        try:
            result = self._destroy(on_event, on_output)
        except OperationFailedError as failure:
            if aws is None or "DependencyViolation" not in failure.stderr + failure.stdout:
                raise
            left_behind, more = _listed(aws)
            gone, why = _gone(aws)
            for problem in (*more, *why):
                failure.add_note(problem)
            if not left_behind or not gone:
                raise
            if not remove_leftovers:
                raise LeftoversBlockDestroyError(failure, left_behind) from failure
            removed, failed = aws.remove(left_behind)
            try:
                result = self._destroy(on_event, on_output)
            except OperationFailedError as again:
                again.add_note(f"removed before this attempt: {'; '.join(map(str, removed)) or 'nothing'}")
                for problem in failed:
                    again.add_note(problem)
                raise
            report = LeftoverReport(found, left_behind, removed, (*errors, *more, *failed))
            return dataclasses.replace(result, leftovers=report)
        left_behind, more = _listed(aws)
        report = _after_destroy(aws, remove_leftovers, found, left_behind, (*errors, *more))
        return dataclasses.replace(result, leftovers=report)

    def _destroy(self, on_event: OnEvent | None, on_output: OnOutput | None) -> UpdateResult:
        start = time.monotonic()
        with self._operation("destroy", on_event, on_output) as (stack, collector, streams):
            result = stack.destroy(
                on_event=collector, on_output=streams.on_output, on_error=streams.on_error, color="never"
            )
        return self._update_result("destroy", result.summary, {}, collector, start, result.stdout)

    def _aws_leftovers(self) -> AwsLeftovers | None:
        """The lister for this stack's cluster and VPC, from its outputs; None before the first update."""
        outputs = self.outputs()
        cluster, vpc = outputs.get("clusterName"), outputs.get("vpcId")
        if not (isinstance(cluster, str) and isinstance(vpc, str)):
            return None
        return AwsLeftovers(cluster, vpc, self.config.region)

    def outputs(self) -> dict[str, Any]:
        """The stack outputs of the last update, as plaintext values."""
        with self._translated("outputs"):
            return {k: v.value for k, v in self.stack().outputs().items()}

    def _update_result(
        self,
        operation: str,
        summary: auto.UpdateSummary,
        outputs: Mapping[str, Any],
        collector: EventCollector,
        start: float,
        stdout: str,
    ) -> UpdateResult:
        changes = (
            ChangeSummary.of(summary.resource_changes)
            if summary.resource_changes is not None
            else collector.summary_changes or ChangeSummary()
        )
        return UpdateResult(
            stack=self.name,
            operation=operation,
            result=summary.result,
            version=summary.version,
            changes=changes,
            outputs={k: v.value for k, v in outputs.items()},
            secret_outputs=frozenset(k for k, v in outputs.items() if v.secret),
            findings=collector.findings,
            duration_seconds=time.monotonic() - start,
            stdout=stdout,
        )


def _listed(aws: AwsLeftovers | None) -> tuple[tuple[Leftover, ...], tuple[str, ...]]:
    """What `aws` lists, and why it could not list some or all of it: listing never stops a destroy."""
    if aws is None:
        return (), ()
    try:
        return aws.find()
    except (BotoCoreError, ClientError) as error:
        return (), (f"could not list what the controllers left in AWS: {error}",)


def _after_destroy(
    aws: AwsLeftovers | None,
    remove: bool,
    found: tuple[Leftover, ...],
    left_behind: tuple[Leftover, ...],
    errors: tuple[str, ...],
) -> LeftoverReport:
    """The report of a destroy that succeeded, having removed what it left behind if asked and the cluster is gone."""
    if aws is None or not remove or not left_behind:
        return LeftoverReport(found, left_behind, (), errors)
    gone, why = _gone(aws)
    if not gone:
        return LeftoverReport(found, left_behind, (), (*errors, *why))
    removed, failed = aws.remove(left_behind)
    return LeftoverReport(found, left_behind, removed, (*errors, *failed))


def _gone(aws: AwsLeftovers) -> tuple[bool, tuple[str, ...]]:
    """Whether EKS says the cluster is gone, and why it could not say; when it cannot, it is not gone."""
    try:
        return not aws.cluster_exists(), ()
    except (BotoCoreError, ClientError) as error:
        return False, (f"could not learn whether cluster {aws.cluster_name} is gone, so removed nothing: {error}",)


def _last_line(text: str) -> str:
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")
