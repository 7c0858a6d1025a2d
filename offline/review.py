"""`python -m offline review FILE`: judge a deployment with the policy pack, the way `pulumi preview` does.

The pack runs as the engine runs it: `policies/__main__.py` in a subprocess,
spoken to over the analyzer's gRPC protocol (the stubs the pulumi SDK ships).
The review sends what the engine sends, in its order: `ConfigureStack`,
`GetAnalyzerInfo`, `Configure` (the pack's schema defaults, then the policy
config file, reconciled and validated as the CLI does), one `Analyze` per resource with its inputs and one
`AnalyzeStack` with every resource's outputs, all in the wire format: secrets
marked secret, resource references as ids, internal keys dropped. A secret
exported without `--show-secrets` (ciphertext) is sent as an unknown value,
so a rule that needs it is skipped with a note, never failed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self, TextIO

import grpc
import jsonschema
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

PROJECT_DIR = Path(__file__).resolve().parent.parent
POLICY_DIR = PROJECT_DIR / "policies"
SPECIAL_SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
PREVIEW_SKIP = "can't run policy"  # pulumi_policy's note for a rule that read a value unknown in a preview
STACK_TYPE = "pulumi:pulumi:Stack"
LEVELS = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
LEVEL_CODES = {name: code for code, name in LEVELS.items()}
FORMATS = ("text", "markdown", "sarif", "json")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


class ReviewError(Exception):
    """The input or the policy config cannot be reviewed; the message says why, in one line."""


@dataclass(frozen=True)
class Finding:
    policy: str
    enforcement_level: str  # mandatory, advisory (a rule skipped for unknown values: advisory)
    urn: str  # "" for a finding about the whole stack
    message: str  # what is wrong, without the rule's description
    description: str  # the rule's one line: what it enforces and how to fix it

    @property
    def resource(self) -> str:
        return self.urn.rsplit("::", 1)[-1] if self.urn else "(stack)"


@dataclass
class Report:
    source: str
    stack: str
    pack: str
    pack_version: str
    config: str  # the policy config file used, or "" for the pack's defaults
    resources: int
    policies: dict[str, dict[str, str]]  # name -> {"description", "enforcementLevel"}
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. policy config naming no policy of the pack
    # Checks a rule could not make in a preview: the values it reads are known only after creation
    # (pulumi_policy reports them as "can't run policy ... during preview"). They run again at `up`.
    not_run: list[Finding] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Finding]:
        return [f for f in self.findings if f.enforcement_level == "mandatory"]

    @property
    def passed(self) -> bool:
        return not self.mandatory


# --- the deployment ----------------------------------------------------------


def load_deployment(path: Path) -> dict[str, Any]:
    """A `pulumi stack export` document (version 3), or ReviewError saying why not."""
    try:
        document = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ReviewError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ReviewError(f"{path}: not a deployment (not JSON: {err})") from None
    if not isinstance(document, dict) or "deployment" not in document or "version" not in document:
        raise ReviewError(
            f"{path}: not a deployment (expected the output of `pulumi stack export`: "
            "an object with version and deployment)"
        )
    if document["version"] != 3:
        raise ReviewError(f"{path}: deployment version {document['version']!r} is not supported (expected 3)")
    resources = document["deployment"].get("resources") if isinstance(document["deployment"], dict) else None
    if not isinstance(resources, list) or not all(
        isinstance(r, dict) and isinstance(r.get("urn"), str) and isinstance(r.get("type"), str) for r in resources
    ):
        raise ReviewError(
            f"{path}: not a deployment (deployment.resources must be a list of resources with urn and type)"
        )
    if not resources:
        raise ReviewError(f"{path}: the deployment has no resources")
    return document


def stack_of(document: dict[str, Any]) -> str:
    """The stack named in the resources' URNs (`urn:pulumi:<stack>::<project>::...`)."""
    urn: str = document["deployment"]["resources"][0]["urn"]
    return urn.split("::", 1)[0].split(":")[2]


def project_of(document: dict[str, Any]) -> str:
    urn: str = document["deployment"]["resources"][0]["urn"]
    return urn.split("::")[1]


def to_wire(value: Any) -> Any:
    """An exported value as the engine marshals it for an analyzer."""
    if isinstance(value, dict):
        sig = value.get(SPECIAL_SIG)
        if sig == SECRET_SIG:
            if "plaintext" in value:
                return {SPECIAL_SIG: SECRET_SIG, "value": to_wire(json.loads(value["plaintext"]))}
            if "value" in value:
                return {SPECIAL_SIG: SECRET_SIG, "value": to_wire(value["value"])}
            return {SPECIAL_SIG: SECRET_SIG, "value": UNKNOWN}  # ciphertext: cannot be read here
        if sig == RESOURCE_SIG:  # resource references are sent as the resource's id (or URN without one)
            return value.get("id") or value.get("urn", "")
        return {k: to_wire(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [to_wire(v) for v in value]
    return value


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


# --- policy config -------------------------------------------------------------


def config_for(stack: str, explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.exists():
            raise ReviewError(f"{explicit}: no such policy config file")
        return explicit
    default = POLICY_DIR / "config" / f"{stack}.json"
    return default if default.exists() else None


def read_policy_config(path: Path | None, warnings: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """A `--policy-pack-config` file as the CLI reads it: name -> level string, or {enforcementLevel, ...}.

    `environments` is no policy: from CLI v3.231.0 it lists Pulumi ESC environments whose values the
    pack receives (pulumi/pulumi pkg/resource/analyzer/config.go parsePolicyPackConfig, #22495). The
    offline review cannot open them, so `warnings` says so.
    """
    if path is None:
        return {}
    try:
        raw = json.loads(path.read_text().strip() or "{}")  # the CLI takes an empty file (strings.TrimSpace)
    except ValueError as err:
        raise ReviewError(f"{path}: policy config is not JSON ({err})") from None
    if not isinstance(raw, dict):
        raise ReviewError(f"{path}: policy config must be an object of policy names")
    if "environments" in raw:
        environments = raw.pop("environments")
        if not isinstance(environments, list) or not all(isinstance(e, str) for e in environments):
            raise ReviewError(
                f'{path}: "environments" must be an array of ESC environment names (got {environments!r})'
            )
        if environments and warnings is not None:
            warnings.append(
                f"{path}: ESC environments {', '.join(environments)} are not opened offline; "
                "the values they give the pack are missing from this review. The CLI takes them "
                "from v3.231.0 and only with a Pulumi Cloud backend (pkg/engine/update.go)"
            )
    result = {}
    for name, value in raw.items():
        properties = dict(value) if isinstance(value, dict) else {}
        level = value if isinstance(value, str) else properties.pop("enforcementLevel", None)
        if not isinstance(value, (str, dict)):
            raise ReviewError(f"{path}: {name}: {value!r} must be an enforcement level or an object")
        if level is not None and level not in LEVEL_CODES:
            raise ReviewError(f"{path}: {name}: {level!r} is not an enforcement level ({', '.join(LEVEL_CODES)})")
        result[name] = {"enforcementLevel": level, "properties": properties}
    return result


def reconcile(
    info: analyzer_pb2.AnalyzerInfo, given: dict[str, dict[str, Any]], source: str, warnings: list[str] | None = None
) -> dict[str, Any]:
    """Schema defaults, then the file (its "all" level first), validated against each rule's schema.

    A name that is no policy of the pack changes nothing: the CLI passes it on to Configure
    (pkg/resource/analyzer/config.go applyConfig) and pulumi_policy ignores it; here it is left out and
    `warnings` names it. Every schema violation is reported, as ReconcilePolicyPackConfig reports them all.
    """
    from google.protobuf.json_format import MessageToDict

    result: dict[str, dict[str, Any]] = {}
    for policy in info.policies:
        schema = MessageToDict(policy.configSchema.properties)
        result[policy.name] = {
            "enforcementLevel": LEVELS[policy.enforcementLevel],
            "properties": {k: v["default"] for k, v in schema.items() if "default" in v},
        }
    known = set(result)
    if given.get("all", {}).get("enforcementLevel"):
        for entry in result.values():
            entry["enforcementLevel"] = given["all"]["enforcementLevel"]
    for name, entry in given.items():
        if name == "all":
            continue
        if name not in known:
            if warnings is not None:
                warnings.append(
                    f"{source}: {name} is not a policy of this pack, ignored; policies: {', '.join(sorted(known))}"
                )
            continue
        if entry["enforcementLevel"]:
            result[name]["enforcementLevel"] = entry["enforcementLevel"]
        result[name]["properties"].update(entry["properties"])
    problems = []
    for policy in info.policies:
        schema = {
            "type": "object",
            **({"properties": MessageToDict(policy.configSchema.properties)} if policy.configSchema.properties else {}),
        }
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(result[policy.name]["properties"]), key=str)
        problems += [f"{source}: {policy.name}: {e.message}" for e in errors]
    if problems:
        raise ReviewError("\n".join(problems))
    return result


# --- the analyzer --------------------------------------------------------------


class Analyzer:
    """The pack running as a plugin: started from its folder, spoken to over gRPC."""

    def __init__(self, policy_dir: Path = POLICY_DIR, python: str | None = None) -> None:
        """`python`: by default the pack's own virtualenv, as the CLI runs it (PulumiPolicy.yaml:
        virtualenv: venv), or this interpreter where that virtualenv does not exist."""
        self.policy_dir = policy_dir
        if python is None:
            venv_python = policy_dir / "venv" / "bin" / "python"
            python = str(venv_python) if venv_python.exists() else sys.executable
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [python, "-u", str(policy_dir / "__main__.py")],
            cwd=policy_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        assert self.process.stdout is not None and self.process.stderr is not None  # both are pipes
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            self.process.kill()
            stderr = self.process.stderr.read().decode().strip()  # read before close() closes the pipe
            self.close()
            raise ReviewError(
                f"the policy pack at {policy_dir} did not start ({python}): {stderr[-2000:] or line or 'no output'}"
            )
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{line}",
            options=[
                ("grpc.max_receive_message_length", 400 * 1024 * 1024),
                ("grpc.max_send_message_length", 400 * 1024 * 1024),
            ],
        )
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        grpc.channel_ready_future(self.channel).result(timeout=30)

    def close(self) -> None:
        if getattr(self, "channel", None) is not None:
            self.channel.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def info(self) -> analyzer_pb2.AnalyzerInfo:
        info: analyzer_pb2.AnalyzerInfo = self.stub.GetAnalyzerInfo(empty_pb2.Empty())
        return info

    def configure(self, config: dict[str, Any]) -> None:
        self.stub.Configure(
            analyzer_pb2.ConfigureAnalyzerRequest(
                policyConfig={
                    name: analyzer_pb2.PolicyConfig(
                        enforcementLevel=LEVEL_CODES[c["enforcementLevel"]], properties=_struct(c["properties"])
                    )
                    for name, c in config.items()
                }
            )
        )

    def configure_stack(self, stack: str, project: str) -> None:
        self.stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=stack, project=project, organization="organization", dry_run=True
            )
        )

    def review(
        self, document: dict[str, Any], workers: int = 4, remediates: bool = True
    ) -> list[analyzer_pb2.AnalyzeDiagnostic]:
        """`remediates` False: no policy is configured to remediate, so Remediate would return nothing for any
        resource (pulumi_policy's servicer runs only `remediate`-level policies) and is not called."""
        resources = document["deployment"]["resources"]
        providers = {r["urn"]: r for r in resources if r["type"].startswith("pulumi:providers:")}

        def provider_of(entry: dict[str, Any]) -> analyzer_pb2.AnalyzerProviderResource | None:
            found = providers.get(entry.get("provider", "").rsplit("::", 1)[0])
            if found is None:
                return None
            return analyzer_pb2.AnalyzerProviderResource(
                type=found["type"],
                urn=found["urn"],
                name=found["urn"].rsplit("::", 1)[-1],
                properties=_struct(to_wire(found.get("inputs", {}))),
            )

        def options(entry: dict[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
            return analyzer_pb2.AnalyzerResourceOptions(
                protect=bool(entry.get("protect")),
                parent=entry.get("parent", ""),
                additionalSecretOutputs=entry.get("additionalSecretOutputs", []),
            )

        def analyze(entry: dict[str, Any]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
            request = analyzer_pb2.AnalyzeRequest(
                type=entry["type"],
                urn=entry["urn"],
                name=entry["urn"].rsplit("::", 1)[-1],
                properties=_struct(to_wire(entry.get("inputs", {}))),
                options=options(entry),
                provider=provider_of(entry),
            )
            # As the engine: remediations first, each rewriting the properties the next step sees, then Analyze
            # (pulumi/pulumi pkg/resource/deploy/step_generator.go). This pack remediates nothing yet.
            for remediation in self.stub.Remediate(request).remediations if remediates else []:
                if remediation.HasField("properties"):
                    request.properties.CopyFrom(remediation.properties)
            diagnostics = list(self.stub.Analyze(request).diagnostics)
            for d in diagnostics:  # the engine files a resource's findings under that resource
                d.urn = d.urn or entry["urn"]
            return diagnostics

        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = [d for ds in pool.map(analyze, resources) for d in ds]
        stack = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    type=r["type"],
                    urn=r["urn"],
                    name=r["urn"].rsplit("::", 1)[-1],
                    properties=_struct(to_wire(r.get("outputs", {}))),
                    options=options(r),
                    provider=provider_of(r),
                    parent=r.get("parent", ""),
                    dependencies=r.get("dependencies", []),
                    propertyDependencies={
                        k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                        for k, v in (r.get("propertyDependencies") or {}).items()
                    },
                )
                for r in resources
            ]
        )
        return found + list(self.stub.AnalyzeStack(stack).diagnostics)


def pack_version(policy_dir: Path = POLICY_DIR) -> str:
    """The version the CLI reports: PulumiPolicy.yaml's (a Python pack's server always says 0.0.1)."""
    return str(yaml.safe_load((policy_dir / "PulumiPolicy.yaml").read_text()).get("version", "0.0.1"))


def review(source: Path, document: dict[str, Any], analyzer: Analyzer, config_path: Path | None = None) -> Report:
    """Judge one deployment; `config_path` None: the policy config of the stack the URNs name."""
    stack = stack_of(document)
    config_path = config_for(stack, config_path)
    # The engine's order: ConfigureStack when it loads the analyzer (sdk/go/common/resource/plugin/
    # analyzer_plugin.go NewPolicyAnalyzer), then GetAnalyzerInfo and Configure (pkg/engine/update.go), v3.202.0.
    analyzer.configure_stack(stack, project_of(document))
    info = analyzer.info()
    warnings: list[str] = []
    config = reconcile(info, read_policy_config(config_path, warnings), str(config_path or "pack defaults"), warnings)
    analyzer.configure(config)
    report = Report(
        source=str(source),
        stack=stack,
        pack=info.name,
        pack_version=pack_version(analyzer.policy_dir),
        config=os.path.relpath(config_path) if config_path else "",
        resources=len(document["deployment"]["resources"]),
        policies={
            p.name: {"description": p.description, "enforcementLevel": config[p.name]["enforcementLevel"]}
            for p in info.policies
        },
        warnings=warnings,
    )
    root = next((r["urn"] for r in document["deployment"]["resources"] if r["type"] == STACK_TYPE), "")
    remediates = any(c["enforcementLevel"] == "remediate" for c in config.values())
    for d in analyzer.review(document, remediates=remediates):
        d.urn = d.urn or root  # the engine files stack-level findings under the root stack
        message = d.message.removeprefix(d.description).lstrip("\n") if d.description else d.message
        finding = Finding(d.policyName, LEVELS.get(d.enforcementLevel, "advisory"), d.urn, message, d.description)
        (report.not_run if message.startswith(PREVIEW_SKIP) else report.findings).append(finding)
    report.findings.sort(key=lambda f: (f.enforcement_level != "mandatory", f.policy, f.urn, f.message))
    return report


# --- formats -------------------------------------------------------------------------


def render(report: Report, fmt: str) -> str:
    if fmt == "sarif":
        return json.dumps(to_sarif(report), indent=2)
    if fmt == "json":
        return json.dumps(to_json(report), indent=2)
    return to_markdown(report) if fmt == "markdown" else to_text(report)


def _verdict(report: Report) -> str:
    mandatory, advisory = len(report.mandatory), len(report.findings) - len(report.mandatory)
    return f"{mandatory} mandatory and {advisory} advisory finding(s): {'FAILED' if mandatory else 'passed'}"


def to_text(report: Report) -> str:
    lines = [
        (
            f"Policy review of stack {report.stack} ({report.source}): {report.resources} resources, "
            f"pack {report.pack} {report.pack_version}, config {report.config or 'pack defaults'}"
        )
    ]
    lines += [f"warning: {w}" for w in report.warnings]
    if report.not_run:
        lines.append(
            f"{len(report.not_run)} check(s) could not run: the values they read are not known here (in a "
            "preview, until the resource exists: they run at `up`; or secrets exported without "
            "--show-secrets):"
        )
        lines += [f"    {f.policy} on {f.resource}: {f.message.split(': ', 1)[-1]}" for f in report.not_run]
    for f in report.findings:
        lines += [f"{f.enforcement_level:<9} {f.policy}  {f.resource}", f"    {f.message}", f"    fix: {f.description}"]
    lines.append(_verdict(report))
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    mark = ":x:" if report.mandatory else ":white_check_mark:"
    lines = [
        f"### {mark} Policy review of `{report.stack}`",
        "",
        (
            f"{report.resources} resources, pack `{report.pack}` {report.pack_version}, "
            f"config `{report.config or 'pack defaults'}`. **{_verdict(report)}**"
        ),
        "",
    ]
    if report.findings:
        lines += ["| level | rule | resource | finding | how to fix |", "|---|---|---|---|---|"]
        lines += [
            f"| {f.enforcement_level} | `{f.policy}` | `{_cell(f.resource)}` | {_cell(f.message)} | "
            f"{_cell(f.description)} |"
            for f in report.findings
        ]
    return "\n".join(lines)


SARIF_LEVELS = {"mandatory": "error", "advisory": "warning", "disabled": "none", "remediate": "error"}


def to_sarif(report: Report) -> dict[str, Any]:
    names = list(report.policies)
    rules = [
        {
            "id": name,
            "name": name,
            "shortDescription": {"text": p["description"].split(": ", 1)[0]},
            "fullDescription": {"text": p["description"]},
            "help": {"text": p["description"]},
            "defaultConfiguration": {
                "level": SARIF_LEVELS.get(p["enforcementLevel"], "warning"),
                "enabled": p["enforcementLevel"] != "disabled",
            },
            "properties": {"enforcementLevel": p["enforcementLevel"]},
        }
        for name, p in report.policies.items()
    ]
    results = []
    for f in report.findings:
        result: dict[str, Any] = {
            "ruleId": f.policy,
            "level": SARIF_LEVELS.get(f.enforcement_level, "warning"),
            "message": {"text": f.message or f.description},
            "locations": [
                {
                    # the stack's config file: what a pull request changes, where code scanning can show the alert
                    # (the plan itself is generated, and not in the repository)
                    "physicalLocation": {"artifactLocation": {"uri": f"Pulumi.{report.stack}.yaml"}},
                    "logicalLocations": [
                        {"name": f.resource, "fullyQualifiedName": f.urn or f"stack {report.stack}", "kind": "resource"}
                    ],
                }
            ],
            "properties": {"enforcementLevel": f.enforcement_level, "urn": f.urn},
        }
        if f.policy in names:
            result["ruleIndex"] = names.index(f.policy)
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": report.pack, "version": report.pack_version, "rules": rules}},
                "automationDetails": {"id": f"policy-review/{report.stack}/"},
                "results": results,
            }
        ],
    }


def to_json(report: Report) -> dict[str, Any]:
    return {
        "stack": report.stack,
        "source": report.source,
        "pack": report.pack,
        "packVersion": report.pack_version,
        "config": report.config or None,
        "resources": report.resources,
        "passed": report.passed,
        "mandatory": len(report.mandatory),
        "advisory": len(report.findings) - len(report.mandatory),
        "findings": [
            {
                **{k: v for k, v in asdict(f).items() if k != "enforcement_level"},
                "enforcementLevel": f.enforcement_level,
                "resource": f.resource,
            }
            for f in report.findings
        ],
        "notRun": [
            {"policy": f.policy, "resource": f.resource, "urn": f.urn, "reason": f.message} for f in report.not_run
        ],
        "warnings": report.warnings,
    }


# --- the command ---------------------------------------------------------------------


def run(path: Path, fmt: str = "text", config_path: Path | None = None, out: TextIO | None = None) -> int:
    """The `review` subcommand: 0 no mandatory violation, 1 some, 2 the input or config is not usable."""
    out = out or sys.stdout
    try:
        document = load_deployment(path)
        with Analyzer() as analyzer:
            report = review(path, document, analyzer, config_path)
    except ReviewError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except grpc.RpcError as err:
        print(f"error: the policy pack failed: {err.details()}", file=sys.stderr)
        return 2
    print(render(report, fmt), file=out)
    return 0 if report.passed else 1
