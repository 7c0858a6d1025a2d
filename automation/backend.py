"""Where stack state lives: a local folder by default, any backend URL by choice.

The backend reaches the CLI as `PULUMI_BACKEND_URL` in the workspace's
environment, so neither the repository's `Pulumi.yaml` nor the user's
`pulumi login` is changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gpu_platform.automation.errors import BackendError

DEFAULT_STATE_DIR = Path.home() / ".gpu-platform" / "state"
# Self-managed ("DIY") backends are every URL but http(s) (pulumi/pulumi IsDIYBackendURL: file, s3, gs,
# azblob, postgres, ...); without a secrets provider, or with "default", the CLI encrypts their secrets with a
# passphrase (pkg/cmd/pulumi/stack/secrets.go isDefaultSecretsProvider).
CLOUD_SCHEMES = ("https://", "http://")


@dataclass(frozen=True)
class Backend:
    """A state backend and how secrets in it are encrypted.

    `secrets_provider` is what `pulumi stack init --secrets-provider` takes: `passphrase`,
    `awskms://alias/...`, ...; None means the backend's default (Pulumi Cloud encrypts for you).
    """

    url: str
    secrets_provider: str | None = None
    passphrase: str | None = None

    @classmethod
    def local(cls, directory: Path | str = DEFAULT_STATE_DIR, passphrase: str | None = None) -> Backend:
        """The file backend in `directory` (created if missing), secrets encrypted with a passphrase.

        The passphrase is this argument, or PULUMI_CONFIG_PASSPHRASE(_FILE) from the environment.
        """
        path = Path(directory).expanduser().resolve()
        path.mkdir(parents=True, exist_ok=True)
        return cls(url=f"file://{path}", secrets_provider="passphrase", passphrase=passphrase)

    @classmethod
    def of_url(cls, url: str, secrets_provider: str | None = None, passphrase: str | None = None) -> Backend:
        """Any backend the CLI logs in to: `s3://bucket/prefix`, `https://api.pulumi.com`, `azblob://...`."""
        return cls(url=url, secrets_provider=secrets_provider, passphrase=passphrase)

    @property
    def uses_passphrase(self) -> bool:
        return self.secrets_provider == "passphrase" or (
            self.secrets_provider in (None, "default") and not self.url.startswith(CLOUD_SCHEMES)
        )

    def env(self) -> dict[str, str]:
        """The environment every CLI command of the workspace gets. An empty passphrase is a passphrase
        (the CLI reads PULUMI_CONFIG_PASSPHRASE with os.LookupEnv); an empty passphrase file is not one
        (pkg/secrets/passphrase/manager.go readPassphrase)."""
        given = "PULUMI_CONFIG_PASSPHRASE" in os.environ or bool(os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"))
        if self.uses_passphrase and self.passphrase is None and not given:
            raise BackendError(
                f"{self.url} encrypts secrets with a passphrase: pass passphrase= to Backend.local, or set "
                "PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) in the environment"
            )
        env = {"PULUMI_BACKEND_URL": self.url, "PULUMI_SKIP_UPDATE_CHECK": "true"}
        if self.passphrase is not None:
            env["PULUMI_CONFIG_PASSPHRASE"] = self.passphrase
        return env
