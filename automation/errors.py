"""The errors of the facade: one base class, one subclass per thing a caller handles differently.

Every error a caller can act on derives from `PlatformAutomationError`; the
message says what happened and what to do, in one or two lines. The original
error (the CLI's `CommandError`, the config's `ConfigError`, ...) is chained as
`__cause__`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gpu_platform.automation.leftovers import Leftover
    from gpu_platform.offline.review import Finding

INSTALL_HINT = (
    "install the Pulumi CLI (3.202 or newer): `curl -fsSL https://get.pulumi.com | sh` "
    "(see https://www.pulumi.com/docs/iac/download-install/), or pass pulumi_root= "
    "to the directory that holds bin/pulumi"
)


class PlatformAutomationError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidConfigError(PlatformAutomationError):
    """The PlatformConfig cannot build a platform; nothing ran. `problems` has one line per problem."""

    def __init__(self, stack: str | None, problems: list[str]) -> None:
        self.stack = stack
        self.problems = list(problems)
        where = f" for stack {stack}" if stack else ""
        super().__init__(f"invalid config{where}:\n  " + "\n  ".join(self.problems))


class StackNotFoundError(PlatformAutomationError):
    """The stack does not exist in the backend and the caller asked not to create it."""

    def __init__(self, stack: str, backend: str) -> None:
        self.stack = stack
        self.backend = backend
        super().__init__(f"no stack named {stack!r} in {backend}; create it with create=True or check the backend URL")


class ConcurrentUpdateError(PlatformAutomationError):
    """Another update of the same stack holds its lock; retry later."""

    def __init__(self, stack: str, detail: str) -> None:
        self.stack = stack
        self.detail = detail
        super().__init__(
            f"another update of stack {stack} is in progress; retry when it ends "
            f"(or `pulumi cancel -s {stack}` if it died): {detail}"
        )


class PulumiCliNotFoundError(PlatformAutomationError):
    """`pulumi` is not installed (or not where `pulumi_root` says). `plan()` still works without it."""

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(f"the Pulumi CLI was not found ({where}); {INSTALL_HINT}")


class PulumiCliVersionError(PlatformAutomationError):
    """The installed CLI is too old or unreadable for the commands this facade runs."""


class PolicyPackNotReadyError(PlatformAutomationError):
    """The policy pack cannot run under the CLI: its virtualenv, which the CLI uses but never creates, is missing."""


class BackendError(PlatformAutomationError):
    """The backend cannot be used as configured (e.g. a file backend without a passphrase)."""


class OperationFailedError(PlatformAutomationError):
    """`pulumi preview/up/refresh/destroy` (or a stack command) failed; `stdout`/`stderr` have the CLI's text."""

    def __init__(
        self, operation: str, stack: str, stdout: str, stderr: str, findings: tuple[Finding, ...] = ()
    ) -> None:
        self.operation = operation
        self.stack = stack
        self.stdout = stdout
        self.stderr = stderr
        self.findings = tuple(findings)
        last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "no error output")
        super().__init__(f"{operation} of stack {stack} failed: {last.strip()}")


class LeftoversBlockDestroyError(OperationFailedError):
    """`pulumi destroy` failed with resources the cluster's controllers made still in AWS (`leftovers`), which
    hold the VPC; `destroy(remove_leftovers=True)` removes them and destroys again."""

    def __init__(self, failure: OperationFailedError, leftovers: tuple[Leftover, ...]) -> None:
        super().__init__(failure.operation, failure.stack, failure.stdout, failure.stderr, failure.findings)
        self.leftovers = leftovers
        listed = "; ".join(str(item) for item in leftovers)
        hint = "Run destroy(remove_leftovers=True) to remove them and destroy again"
        self.args = (
            f"{self.args[0]}. Still in AWS, made by the cluster's controllers outside Pulumi: {listed}. {hint}",
        )


class PolicyViolationError(OperationFailedError):
    """A mandatory policy stopped the preview or update; `findings` lists every violation."""

    def __init__(self, operation: str, stack: str, stdout: str, stderr: str, findings: tuple[Finding, ...]) -> None:
        super().__init__(operation, stack, stdout, stderr, findings)
        blocking = [f for f in self.findings if f.enforcement_level == "mandatory"]
        self.args = (
            f"{operation} of stack {stack} stopped by {len(blocking)} mandatory policy violation(s): "
            + "; ".join(f"{f.policy} on {f.resource}: {f.message}" for f in blocking),
        )


class PlanError(PlatformAutomationError):
    """The offline plan or its policy review could not be made (an unknown invoke, a broken pack, ...)."""
