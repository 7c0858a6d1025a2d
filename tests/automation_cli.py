"""A stand-in for the Pulumi CLI: answers the Automation API as `pulumi` 3.272 does, and records every command.

`FakePulumi` is a `pulumi.automation.PulumiCommand` whose `run(...)` answers
from an in-memory backend instead of starting a process. It keeps what the
real CLI would: stacks, their config (objects as objects, secrets marked),
outputs and update history; it fails the way the CLI fails (the same messages,
so the SDK raises StackNotFoundError, ConcurrentUpdateError, ...); and during
preview/up/refresh/destroy it streams engine events in the CLI's JSON form to
the `--event-log` the SDK passes: a `tcp://` address (CLI > 3.205, the SDK's
gRPC Events service) or a file (older CLIs).
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import grpc
from pulumi.automation import CommandResult, PulumiCommand
from pulumi.automation._cmd import _parse_and_validate_pulumi_version
from pulumi.automation._minimum_version import _MINIMUM_VERSION
from pulumi.automation.errors import create_command_error
from pulumi.runtime.proto import events_pb2, events_pb2_grpc

VERSION = "v3.272.0"
PACK = "gpu-platform"
PACK_VERSION = "0.1.0"
TIME = "2025-06-02T09:30:00.000000Z"


@dataclass
class Call:
    """One command line as the CLI received it (without the binary), where and with what environment."""

    argv: list[str]
    cwd: str
    env: dict[str, str]


@dataclass
class StackState:
    secrets_provider: str | None = None
    config: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> {value, objectValue?, secret}
    outputs: dict[str, tuple[Any, bool]] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)  # URNs in the state


def policy_event(policy: str, level: str, urn: str, description: str, message: str) -> dict[str, Any]:
    """A policy violation as the engine writes it to the event log (apitype.PolicyEvent)."""
    return {
        "resourceUrn": urn,
        "message": f"<{{%reset%}}>{description}\n{message}<{{%reset%}}>\n",
        "color": "raw",
        "policyName": policy,
        "policyPackName": PACK,
        "policyPackVersion": PACK_VERSION,
        "policyPackVersionTag": PACK_VERSION,
        "enforcementLevel": level,
    }


class FakePulumi(PulumiCommand):
    """The CLI, in memory. `stacks`: stacks that exist; `locked`: stacks another update holds."""

    def __init__(
        self,
        stacks: tuple[str, ...] = (),
        *,
        resources: Mapping[str, str] | None = None,
        policy_events: list[dict[str, Any]] | None = None,
        outputs: Mapping[str, tuple[Any, bool]] | None = None,
        locked: tuple[str, ...] = (),
        version: str = VERSION,
        destroy_errors: tuple[str, ...] = (),
    ) -> None:
        # What PulumiCommand.__init__ does, without a process: ask the CLI for its version, check it.
        self.command = "pulumi"
        self.calls: list[Call] = []
        self.stacks = {name: StackState() for name in stacks}
        self.locked = set(locked)
        self.destroy_errors = list(destroy_errors)  # what the next destroys fail with, one each (CLI stderr)
        self._version_text = version
        # What the program registers, by logical name -> type (the engine's view of it).
        self.resources = dict(resources or {})
        self.policy_events = list(policy_events or [])
        self.new_outputs = dict(outputs or {})
        self.events_sent: list[dict[str, Any]] = []
        self.plaintexts: list[str] = []  # what `secure: v1:<n>` values decrypt to
        self.calls.append(Call(["version"], os.getcwd(), {}))
        self.version = _parse_and_validate_pulumi_version(_MINIMUM_VERSION, version.lstrip("v"), opt_out=False)

    # --- the PulumiCommand interface ---------------------------------------------------------

    def run(
        self, args: list[str], cwd: str, additional_env: Mapping[str, str], on_output=None, on_error=None
    ) -> CommandResult:
        separator = args.index("--") if "--" in args else len(args)
        if "--non-interactive" not in args[:separator]:  # as PulumiCommand.run does
            args.insert(0, "--non-interactive")
        self.calls.append(Call(list(args), cwd, dict(additional_env)))
        stdout, stderr, code = self._answer([a for a in args if a != "--non-interactive"], dict(additional_env))
        for line in stdout.splitlines():
            if on_output:
                on_output(line.rstrip())
        for line in stderr.splitlines():
            if on_error:
                on_error(line.rstrip())
        result = CommandResult(stdout=stdout.rstrip("\n"), stderr=stderr.rstrip("\n"), code=code)
        if code != 0:
            raise create_command_error(result)
        return result

    # --- what the tests read ------------------------------------------------------------------

    def commands(self) -> list[list[str]]:
        """Every command line, with the ports the SDK picks at random replaced by <port>."""
        return [[re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", a) for a in c.argv] for c in self.calls]

    # --- answers --------------------------------------------------------------------------------

    def _answer(self, argv: list[str], env: dict[str, str]) -> tuple[str, str, int]:
        stack = _option(argv, "--stack")
        match argv:
            case ["whoami", "--json"]:
                return json.dumps({"user": "platform-bot", "url": env.get("PULUMI_BACKEND_URL", "")}), "", 0
            case ["stack", "select", "--stack", name]:
                return ("", "", 0) if name in self.stacks else self._no_stack(name)
            case ["stack", "init", name, *rest]:
                if name in self.stacks:
                    return "", f"error: stack '{name}' already exists", 255
                self.stacks[name] = StackState(secrets_provider=_option(rest, "--secrets-provider"))
                return f"Created stack '{name}'", "", 0
            case ["config", "set-all", *rest]:
                return self._set_config(stack, rest)
            case ["stack", "output", "--json", *rest]:
                return self._outputs(stack, show_secrets="--show-secrets" in rest)
            case ["stack", "history", "--json", *rest]:
                if stack not in self.stacks:
                    return self._no_stack(stack)
                size = int(_option(rest, "--page-size") or 0) or None
                return json.dumps(list(reversed(self.stacks[stack].history))[:size]), "", 0
            case [("preview" | "up" | "refresh" | "destroy") as operation, *_]:
                return self._operation(operation, stack, argv)
        raise AssertionError(f"the CLI stand-in does not know `pulumi {' '.join(argv)}`")

    def _no_stack(self, name: str | None) -> tuple[str, str, int]:
        return "", f"error: no stack named '{name}' found", 255

    def _set_config(self, stack: str | None, rest: list[str]) -> tuple[str, str, int]:
        if stack not in self.stacks:
            return self._no_stack(stack)
        config = self.stacks[stack].config
        if "--json" in rest and self.version is not None and self.version.compare("3.202.0") < 0:
            return "", "error: unknown flag: --json", 255  # cobra's answer: the flag came in v3.202.0
        if "--json" in rest:
            if any(flag in rest for flag in ("--plaintext", "--secret", "--path")):
                return (
                    "",
                    "error: the --json option cannot be used with the --plaintext, --secret or --path options",
                    255,
                )
            for key, entry in json.loads(_option(rest, "--json")).items():
                config[key] = {k: v for k, v in entry.items() if k in ("value", "objectValue", "secret")}
        for flag, value in itertools.pairwise(rest):
            if flag in ("--plaintext", "--secret"):
                key, _, text = value.partition("=")
                secret = flag == "--secret"
                top, dot, path = key.partition(".")
                if "--path" in rest and dot:
                    # Into the object: a secret leaf is stored encrypted (`secure:`), the key becomes secret.
                    entry = config.setdefault(top, {"value": "{}", "objectValue": {}, "secret": False})
                    node = entry["objectValue"]
                    *parents, leaf = path.split(".")
                    for part in parents:
                        node = node.setdefault(part, {})
                    node[leaf] = {"secure": f"v1:{len(self.plaintexts)}"} if secret else text
                    self.plaintexts.append(text) if secret else None
                    entry["secret"] = entry["secret"] or secret
                    entry["value"] = json.dumps(entry["objectValue"])
                else:
                    config[key] = {"value": text, "secret": secret}
        return "", "", 0

    def _outputs(self, stack: str | None, show_secrets: bool) -> tuple[str, str, int]:
        if stack not in self.stacks:
            return self._no_stack(stack)
        return (
            json.dumps(
                {
                    k: v if show_secrets or not secret else "[secret]"
                    for k, (v, secret) in self.stacks[stack].outputs.items()
                }
            ),
            "",
            0,
        )

    def _operation(self, operation: str, stack: str | None, argv: list[str]) -> tuple[str, str, int]:
        if stack not in self.stacks:
            return self._no_stack(stack)
        if stack in self.locked:
            return (
                "",
                (
                    f"error: the stack is currently locked by 1 lock(s). Either wait for the other process(es) "
                    f"to end or delete the lock file with `pulumi cancel`.\n  file:///state/.pulumi/locks/"
                    f"organization/gpu-platform/{stack}/2f1c.json: created by platform-bot@ci (pid 4242) "
                    f"at {TIME}"
                ),
                255,
            )
        state = self.stacks[stack]
        project = "gpu-platform"
        urns = {f"urn:pulumi:{stack}::{project}::{type_}::{name}": type_ for name, type_ in self.resources.items()}
        if operation == "destroy":
            steps = [(urn, "delete") for urn in state.resources]
        elif operation == "refresh":
            steps = [(urn, "same") for urn in state.resources]
        else:
            steps = [(urn, "same" if urn in state.resources else "create") for urn in urns]
        policies = self.policy_events if operation in ("preview", "up") and "--policy-pack" in argv else []
        mandatory = any(p["enforcementLevel"] == "mandatory" for p in policies)
        changes: dict[str, int] = {}
        for _, op in steps:
            changes[op] = changes.get(op, 0) + 1

        events: list[dict[str, Any]] = [
            {
                "preludeEvent": {
                    "config": {k: "[secret]" if v["secret"] else v["value"] for k, v in state.config.items()}
                }
            }
        ]
        for urn, op in steps:
            metadata = {"op": op, "urn": urn, "type": urns.get(urn, urn.split("::")[2]), "provider": ""}
            events.append({"resourcePreEvent": {"metadata": metadata, "planning": operation == "preview"}})
            if not mandatory:
                events.append({"resOutputsEvent": {"metadata": metadata, "planning": operation == "preview"}})
        events += [{"policyEvent": p} for p in policies]
        events.append(
            {
                "summaryEvent": {
                    "maybeCorrupt": False,
                    "durationSeconds": 1,
                    "resourceChanges": changes,
                    "PolicyPacks": {PACK: f"v{PACK_VERSION}"} if policies or "--policy-pack" in argv else {},
                }
            }
        )
        events.append({"cancelEvent": {}})
        self._send(events, _option(argv, "--event-log"))

        verb = {"preview": "Previewing update", "up": "Updating", "refresh": "Refreshing", "destroy": "Destroying"}[
            operation
        ]
        lines = [f"{verb} ({stack}):"]
        lines += [f"    {op} {urn.rsplit('::', 2)[1]} {urn.rsplit('::', 1)[1]}" for urn, op in steps]
        if policies:
            lines += ["Policies:", f"    {PACK}@v{PACK_VERSION} (local: policies)"]
            lines += [
                f"        - [{p['enforcementLevel']}]  {p['policyName']}  ({p['resourceUrn'].rsplit('::', 1)[1]})"
                for p in policies
            ]
        if mandatory:
            return "\n".join(lines), f"error: {operation} failed", 255
        if operation == "destroy" and self.destroy_errors:
            return "\n".join(lines), self.destroy_errors.pop(0), 255
        lines += ["Resources:"] + [f"    {n} to {op}" for op, n in sorted(changes.items())]

        if operation != "preview":
            if operation == "up":
                state.resources = list(urns)
                state.outputs = dict(self.new_outputs)
            elif operation == "destroy":
                state.resources, state.outputs = [], {}
            state.history.append(
                {
                    "kind": {"up": "update"}.get(operation, operation),
                    "startTime": TIME,
                    "message": "",
                    "environment": {"exec.kind": _option(argv, "--exec-kind") or "cli"},
                    "config": {k: {"value": v["value"], "secret": v["secret"]} for k, v in state.config.items()},
                    "result": "succeeded",
                    "endTime": TIME,
                    "version": len(state.history) + 1,
                    "resourceChanges": changes,
                }
            )
        return "\n".join(lines), "", 0

    def _send(self, events: list[dict[str, Any]], log: str | None) -> None:
        if log is None:
            return
        numbered = [{"sequence": i, "timestamp": 1748856600 + i, **e} for i, e in enumerate(events)]
        self.events_sent += numbered
        if log.startswith("tcp://"):
            with grpc.insecure_channel(log.removeprefix("tcp://")) as channel:
                events_pb2_grpc.EventsStub(channel).StreamEvents(
                    iter([events_pb2.EventRequest(event=json.dumps(e)) for e in numbered])
                )
        else:
            with open(log, "a", encoding="utf-8") as file:
                file.writelines(json.dumps(e) + "\n" for e in numbered)


def _option(argv: list[str], flag: str) -> str | None:
    """The value after `flag` (the last one, as cobra keeps it), or None."""
    values = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]
    return values[-1] if values else None


# How `pulumi destroy` fails when the VPC still holds what a controller made, and when a resource is protected.
VPC_DEPENDENCY = (
    "error: deleting urn:pulumi:dev::gpu-platform::aws:ec2/vpc:Vpc::gpu-platform-dev-network-vpc: 1 error occurred:\n"
    "\t* deleting EC2 VPC (vpc-0abc): operation error EC2: DeleteVpc, https response error StatusCode: 400, api "
    "error DependencyViolation: The vpc 'vpc-0abc' has dependencies and cannot be deleted."
)
PROTECTED = (
    'error: resource "urn:pulumi:dev::gpu-platform::aws:s3/bucketV2:BucketV2::gpu-platform-dev-data" '
    "cannot be deleted\nbecause it is protected. To unprotect the resource, either remove the `protect` flag from "
    "the resource in your Pulumi program and run `pulumi up`, or use the command:\n`pulumi state unprotect "
    "'urn:pulumi:dev::gpu-platform::aws:s3/bucketV2:BucketV2::gpu-platform-dev-data'`"
)
