"""The recording engine: runs the real Pulumi program without the CLI.

It speaks the SDK's mock protocol (`pulumi.runtime.mocks`) with a resource
monitor of its own. Unlike the stock `MockMonitor`, it never turns wire values
back into Python resources on a worker thread (the source of "attached to a
different loop" failures), answers component method calls (`Call`), and keeps
everything `pulumi stack export` would: parent, provider, dependencies
(resource references included), protection, inputs and outputs.
"""

from __future__ import annotations

import asyncio
import contextvars
import difflib
import functools
import json
import logging
import os
import re
import runpy
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import pulumi
import yaml
from google.protobuf import empty_pb2
from gpu_platform.offline import cloud, pulumi_eks, rules
from gpu_platform.offline.wire import (
    RESOURCE_SIG,
    SPECIAL_SIG,
    UNKNOWN,
    from_struct,
    resource_references,
    reveal,
    secret,
    to_struct,
)
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockEngine
from pulumi.runtime.proto import provider_pb2, resource_pb2
from pulumi.runtime.stack import run_in_stack

STACK_TYPE = "pulumi:pulumi:Stack"
OFFLINE_SECRET = "offline-placeholder-secret"


class EngineError(RuntimeError):
    """The offline engine met something it cannot answer truthfully (e.g. an unknown invoke)."""


class RefusedByAws(pulumi.RunError):
    """Requests AWS would refuse (offline/rules/): `pulumi up` would fail on them."""

    def __init__(self, refusals: list[str]) -> None:
        self.refusals = refusals
        super().__init__(
            f"AWS would refuse {len(refusals)} request(s) of this plan:\n" + "\n".join(f"  {line}" for line in refusals)
        )


@dataclass
class Resource:
    """One registered resource, as the engine saw it."""

    urn: str
    type: str
    name: str
    custom: bool
    id: str = ""
    parent: str = ""
    provider: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)  # not in `pulumi stack export`; kept for tests
    remote: bool = False
    additional_secret_outputs: list[str] = field(default_factory=list)


@dataclass
class Recording:
    """Everything one run of the program registered, in registration order."""

    project: str
    stack: str
    resources: list[Resource]

    @property
    def stack_outputs(self) -> dict[str, Any]:
        return next(r.outputs for r in self.resources if r.type == STACK_TYPE)


# --- the monitor -------------------------------------------------------------


class RecordingMonitor:
    """A resource monitor that records registrations and answers with `cloud` fakes."""

    def __init__(self, project: str, stack: str, config: dict[str, Any], preview: bool = False) -> None:
        self.project, self.stack, self.config = project, stack, config
        # A first `pulumi preview`: nothing exists yet, so what providers compute (ids, ARNs, endpoints) is
        # unknown, and so is every input built from it.
        self.preview = preview
        self._lock = threading.Lock()
        self._resources: dict[str, Resource] = {}
        self._order: list[str] = []
        # Children of remote components: answer `getResource` for references, never in the plan.
        self._children: dict[str, cloud.Child] = {}

    # What the program registered
    def recording(self) -> Recording:
        with self._lock:
            return Recording(self.project, self.stack, [self._resources[u] for u in self._order])

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine does: the parent's whole qualified type, except for the root stack.
        qualified = type_
        parent_type = parent.split("::")[2] if parent else ""
        if parent_type and parent_type != STACK_TYPE:
            qualified = f"{parent_type}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{qualified}::{name}"

    def _record(self, resource: Resource) -> None:
        with self._lock:
            if resource.urn in self._resources:
                raise EngineError(f"duplicate resource URN {resource.urn}: two resources share a name")
            self._resources[resource.urn] = resource
            self._order.append(resource.urn)

    def _find(self, urn: str) -> Resource:
        with self._lock:
            if urn not in self._resources:
                raise EngineError(f"unknown resource {urn}")
            return self._resources[urn]

    def _visible(self, urns: Iterable[str]) -> list[str]:
        """Dependencies as the plan shows them (children of remote components are in the plan too)."""
        return sorted(set(urns))

    def _provider_of(self, type_: str, provider_ref: str, version: str) -> Resource:
        """The explicit provider a reference names, or the engine's default provider."""
        if provider_ref:
            return self._find(provider_ref.rsplit("::", 1)[0])
        package = type_.split(":")[0]
        urn = self.make_urn(
            "", f"pulumi:providers:{package}", f"default_{version.replace('.', '_')}" if version else "default"
        )
        with self._lock:
            if urn in self._resources:
                return self._resources[urn]
        inputs = {"version": version} if version else {}
        if package == "aws":
            inputs["region"] = self.stack_region()
        default = Resource(
            urn=urn,
            type=f"pulumi:providers:{package}",
            name=urn.rsplit("::", 1)[1],
            custom=True,
            id=cloud.uuid_for(urn),
            inputs=inputs,
            outputs=inputs,
        )
        with self._lock:
            if urn not in self._resources:
                self._resources[urn] = default
                self._order.append(urn)
            return self._resources[urn]

    def stack_region(self) -> str:
        """The region of the default AWS provider: `aws:region`, else AWS_REGION / AWS_DEFAULT_REGION, as
        pulumi-aws reads it (sdk/python pulumi_aws/provider.py)."""
        region = self.config.get("aws:region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if not region:
            raise EngineError(
                "the AWS provider has no region: set it with `pulumi config set aws:region "
                "<region>` (or AWS_REGION), or give the resource an explicit provider"
            )
        return region

    def _region_of(self, provider: Resource) -> str:
        region = reveal(provider.inputs).get("region")
        return region if isinstance(region, str) and region else self.stack_region()

    # The ResourceMonitor service
    def RegisterResource(self, request: resource_pb2.RegisterResourceRequest) -> resource_pb2.RegisterResourceResponse:
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = from_struct(request.object)
        resource = Resource(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=request.custom,
            parent=request.parent,
            inputs=inputs,
            dependencies=self._visible(set(request.dependencies) | set(resource_references(inputs))),
            property_dependencies={k: self._visible(v.urns) for k, v in request.propertyDependencies.items()},
            protect=request.protect,
            retain_on_delete=request.retainOnDelete,
            remote=request.remote,
            ignore_changes=list(request.ignoreChanges),
            additional_secret_outputs=list(request.additionalSecretOutputs),
        )
        if request.type == STACK_TYPE:
            self._record(resource)
            return resource_pb2.RegisterResourceResponse(urn=urn)

        region = ""
        aws_provider = ""
        if request.custom and not request.type.startswith("pulumi:providers:"):
            provider = self._provider_of(request.type, request.provider, request.version)
            resource.provider = f"{provider.urn}::{provider.id}"
            if request.type.startswith("aws:"):
                region = self._region_of(provider)
        elif request.remote and request.providers.get("aws"):
            # A remote component's children use the providers it was given, region included.
            provider = self._find(request.providers["aws"].rsplit("::", 1)[0])
            aws_provider = f"{provider.urn}::{provider.id}"
            region = self._region_of(provider)
        elif request.remote:
            region = self.stack_region()  # the component's provider makes its children with the default one
        context = cloud.Context(
            urn=urn,
            type=request.type,
            name=request.name,
            inputs=reveal(inputs),
            region=region,
            stack=self.stack,
            property_dependencies=dict(resource.property_dependencies),
            remote=request.remote,
            preview=self.preview,
        )
        if (
            request.custom
            and not request.type.startswith("pulumi:providers:")
            and not (
                self.preview
                and resource.provider
                and _holds_unknown(self._find(resource.provider.rsplit("::", 1)[0]).inputs)
            )
        ):
            # The provider's Check names what the program left unnamed, before preview and update alike; a
            # provider whose config is still unknown checks nothing (provider_plugin.go Check).
            checked = cloud.check(context)
            inputs.update({k: v for k, v in checked.items() if context.inputs.get(k) != v})
            context = replace(context, inputs=checked)
        if request.custom or request.remote:
            resource.id, extra = cloud.new_resource(context)
            if self.preview and not request.type.startswith("pulumi:providers:"):
                resource.id = ""
                extra = {k: _unknown_but_references(v) for k, v in extra.items()}
                for child in context.children:
                    child.outputs.update({k: UNKNOWN for k in child.outputs if k not in child.inputs})
            # The engine returns the provider's secret outputs (additionalSecretOutputs) as secrets.
            extra = {k: secret(v) if k in request.additionalSecretOutputs else v for k, v in extra.items()}
            # In a preview the provider echoes the inputs and leaves the rest unknown: inputs win. A provider
            # whose own config is still unknown previews nothing (pulumi/pulumi provider_plugin.go Create:
            # empty outputs), so stack policies see nothing of its resources.
            resource.outputs = {**extra, **inputs} if self.preview else {**inputs, **extra}
            if (
                self.preview
                and request.custom
                and resource.provider
                and _holds_unknown(self._find(resource.provider.rsplit("::", 1)[0]).inputs)
            ):
                resource.outputs = {}
            with self._lock:
                self._children.update((child.urn, child) for child in context.children)
        if request.remote:
            # What the engine records of a remote component: the outputs Construct returned, no inputs where
            # the provider is built on an SDK older than v3.202 (pulumi-eks, see offline/pulumi_eks.py); then
            # each child its provider registered.
            if request.type.split(":")[0] in pulumi_eks.PACKAGES_WITHOUT_COMPONENT_INPUTS:
                resource.inputs = {}
            resource.outputs = extra
            self._record(resource)
            for child in context.children:
                creating = self.preview and child.custom and not child.type.startswith("pulumi:providers:")
                self._record(
                    Resource(
                        urn=child.urn,
                        type=child.type,
                        name=child.name,
                        custom=child.custom,
                        id="" if creating else child.id,
                        parent=child.parent,
                        inputs=child.inputs,
                        outputs=child.outputs,
                        dependencies=sorted(child.dependencies),
                        provider=aws_provider if child.custom and child.type.startswith("aws:") else "",
                    )
                )
            return resource_pb2.RegisterResourceResponse(urn=urn, id=resource.id, object=to_struct(resource.outputs))
        self._record(resource)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource.id, object=to_struct(resource.outputs))

    def RegisterResourceOutputs(self, request: resource_pb2.RegisterResourceOutputsRequest) -> empty_pb2.Empty:
        outputs = from_struct(request.outputs)
        with self._lock:
            self._resources[request.urn].outputs = outputs
        return empty_pb2.Empty()

    def ReadResource(self, request: resource_pb2.ReadResourceRequest) -> NoReturn:
        raise EngineError(f"reading existing resources is not supported offline ({request.type} {request.name})")

    def Invoke(self, request: resource_pb2.ResourceInvokeRequest) -> resource_pb2.ResourceInvokeResponse:
        args = from_struct(request.args)
        if request.tok == "pulumi:pulumi:getResource":
            with self._lock:
                child = self._children.get(args["urn"])
            found = child or self._find(args["urn"])
            result = {"urn": found.urn, "id": found.id, "state": found.outputs}
        else:
            region = ""
            if request.tok.startswith("aws:"):
                region = self._region_of(self._provider_of(request.tok, request.provider, request.version))
            result = cloud.invoke(request.tok, reveal(args), region)
        response = resource_pb2.ResourceInvokeResponse()
        getattr(response, "return").CopyFrom(to_struct(result))  # `return` is a Python keyword
        return response

    def Call(self, request: resource_pb2.ResourceCallRequest) -> provider_pb2.CallResponse:
        args = from_struct(request.args)
        self_urn = args.get("__self__", {}).get("urn", "") if isinstance(args.get("__self__"), dict) else ""
        owner = self._find(self_urn) if self_urn else None
        result = cloud.call(request.tok, reveal(args), owner.outputs if owner else {})
        response = provider_pb2.CallResponse()
        getattr(response, "return").CopyFrom(to_struct(result))
        return response

    def SupportsFeature(self, request: resource_pb2.SupportsFeatureRequest) -> resource_pb2.SupportsFeatureResponse:
        # Without "outputValues" the SDK sends plain values with secrets marked.
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id != "outputValues")

    def GetDeploymentInfo(self, request: empty_pb2.Empty) -> resource_pb2.DeploymentInfo:
        return resource_pb2.DeploymentInfo(
            supportedFeatures=[
                resource_pb2.RESOURCE_MONITOR_FEATURE_SECRETS,
                resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES,
                resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS,
                resource_pb2.RESOURCE_MONITOR_FEATURE_DELETED_WITH,
            ]
        )

    def RegisterPackage(self, request: resource_pb2.RegisterPackageRequest) -> resource_pb2.RegisterPackageResponse:
        return resource_pb2.RegisterPackageResponse(ref=f"{request.name}@{request.version}")

    def RegisterStackTransform(self, request: object) -> NoReturn:
        raise EngineError("stack transforms are not supported offline")

    def RegisterStackInvokeTransform(self, request: object) -> NoReturn:
        raise EngineError("stack invoke transforms are not supported offline")

    def RegisterResourceHook(self, request: resource_pb2.RegisterResourceHookRequest) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    def RegisterErrorHook(self, request: resource_pb2.RegisterErrorHookRequest) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    def SignalAndWaitForShutdown(self, request: empty_pb2.Empty) -> empty_pb2.Empty:
        return empty_pb2.Empty()


# --- running a stack ---------------------------------------------------------


@dataclass(frozen=True)
class StackConfig:
    """A stack's config as the CLI would hand it to the program."""

    values: dict[str, str]
    secret_keys: list[str]


class StackFileError(pulumi.RunError):
    """A project or stack file that cannot be read: the file, line and column, in one line."""


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
        raise StackFileError(f"{where}: {err.problem or err.context} (YAML syntax)") from None
    except yaml.YAMLError as err:
        raise StackFileError(f"{path.name}: {err}") from None


def read_project_name(project_dir: Path) -> str:
    project = load_yaml(project_dir / "Pulumi.yaml")
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise StackFileError(f"{project_dir / 'Pulumi.yaml'}: needs a `name`")
    name: str = project["name"]
    return name


def read_stack_config(project_dir: Path, stack: str) -> StackConfig:
    """Config of `Pulumi.<stack>.yaml` as `"<namespace>:<key>"` strings, objects as JSON.

    Secure values cannot be decrypted offline: each becomes a placeholder and
    its key is marked secret, as the CLI marks keys that hold secrets.
    """
    project = read_project_name(project_dir)
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.exists():
        known = sorted(p.name[7:-5] for p in project_dir.glob("Pulumi.*.yaml"))
        raise FileNotFoundError(
            f"no stack file {path.name} in {project_dir} "
            + (f"(stacks with a file: {', '.join(known)})" if known else "(it has no stack files)")
            + f"; create it, e.g. with `pulumi config set aws:region us-east-1 --stack {stack}`"
        )
    document = load_yaml(path) or {}
    values, secret_keys = {}, []
    for key, value in (document.get("config") or {}).items():
        full_key = key if ":" in key else f"{project}:{key}"
        value, secret = _placeholder_secrets(value)
        values[full_key] = value if isinstance(value, str) else json.dumps(value)
        if secret:
            secret_keys.append(full_key)
    return StackConfig(values, secret_keys)


def _placeholder_secrets(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return OFFLINE_SECRET, True
        pairs = {k: _placeholder_secrets(v) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(s for _, s in pairs.values())
    if isinstance(value, list):
        items = [_placeholder_secrets(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def _holds_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_holds_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_unknown(v) for v in value)
    return bool(value == UNKNOWN)


def _unknown_but_references(value: Any) -> Any:
    """A remote component's outputs in a preview: resource references stay known (their URNs are), the rest not."""
    if isinstance(value, dict):
        if value.get(SPECIAL_SIG) == RESOURCE_SIG:
            return value
        return {k: _unknown_but_references(v) for k, v in value.items()}
    return UNKNOWN


@functools.cache
def aws_config_keys() -> frozenset[str]:
    """The `aws:` config keys pulumi-aws reads (its SDK's config module, generated from the provider schema)."""
    import pulumi_aws

    source = (Path(pulumi_aws.__file__).parent / "config" / "vars.py").read_text()
    return frozenset(re.findall(r"__config__\.get\w*\('(\w+)'", source))


def check_provider_config(values: dict[str, str]) -> None:
    """A key under `aws:` the provider does not know: pulumi-aws refuses it (CheckConfig), so the plan does."""
    known = aws_config_keys()
    for key in sorted(k for k in values if k.startswith("aws:")):
        name = key.split(":", 1)[1].split(".", 1)[0]
        if name not in known:
            near = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean aws:{near[0]}?" if near else ""
            raise StackFileError(f"{key}: is not a setting of the AWS provider{hint}")


def run_program(
    project_dir: Path,
    stack: str,
    config: StackConfig | None = None,
    program: Callable[[], None] | None = None,
    monitor: RecordingMonitor | None = None,
    preview: bool = False,
) -> Recording:
    """Run `__main__.py` of `project_dir` (or `program`, a callable) for `stack`; return what it registered.

    Each run gets a fresh context, so runs in one process never share state.
    Pass `monitor` to inspect what was registered even when the program fails.
    """
    project_dir = project_dir.resolve()
    project = read_project_name(project_dir)
    config = config or read_stack_config(project_dir, stack)
    check_provider_config(config.values)
    monitor = monitor or RecordingMonitor(project, stack, config.values, preview=preview)

    def run() -> None:
        # A whole Settings, so every per-run bag (RPCs, outputs, package refs) starts empty.
        pulumi_settings.configure(
            pulumi_settings.Settings(
                monitor=monitor,
                engine=MockEngine(logging.getLogger("offline")),
                project=project,
                stack=stack,
                root_directory=str(project_dir),
                dry_run=monitor.preview,
                organization="organization",
                parallel=8,
            )
        )
        pulumi_settings.ROOT.set(None)
        set_all_config(dict(config.values), list(config.secret_keys))

        def main() -> None:
            runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

        entry = program or main
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(run_in_stack(entry))
        finally:
            # A failed program leaves registrations in flight: end them before the loop goes.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()
            asyncio.set_event_loop(None)

    # The program imports its own packages (components/...) from its folder, as under `pulumi up`;
    # the working directory stays as it is, so threads of a service running plans are unaffected.
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))
    contextvars.Context().run(run)
    recording = monitor.recording()
    refused = rules.refusals(recording.resources)
    if refused:
        raise RefusedByAws(refused)
    return recording
