"""The MIG mode check nodes run before kubelet: linted by shellcheck, run against stub GPU tools.

The stubs stand in for nvidia-smi (a driver that is up or not, GPUs whose MIG mode turns Enabled on
`-mig 1`, on a reset, or never), systemctl, reboot and shutdown; each run records what was called.
"""

from __future__ import annotations

import base64
import email
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from gpu_platform.components.gpu_pool import NODE_SCRIPTS

from tests.planning import ROOT, Plan

SHELLCHECK = Path(os.environ.get("SHELLCHECK", ROOT / ".tools/shellcheck/usr/bin/shellcheck"))
SCRIPT = NODE_SCRIPTS / "mig-mode.sh"

NVIDIA_SMI = r"""#!/bin/bash
echo "nvidia-smi $*" >> "$STUB/calls"
case "$1" in
  -L) [ -e "$STUB/driver" ] || exit 9; echo "GPU 0: NVIDIA H100 80GB HBM3"; exit 0 ;;
  --query-gpu=mig.mode.current) [ -e "$STUB/query-fails" ] && exit 15; cat "$STUB/modes"; exit 0 ;;
  -mig) [ "$(cat "$STUB/enables-on")" = mig ] && sed -i 's/Disabled/Enabled/' "$STUB/modes"; exit 0 ;;
  -r) [ "$(cat "$STUB/enables-on")" = reset ] && sed -i 's/Disabled/Enabled/' "$STUB/modes"; exit 0 ;;
esac
exit 0
"""
RECORDER = '#!/bin/bash\necho "$(basename "$0")${*:+ $*}" >> "$STUB/calls"\n'


@dataclass
class Node:
    """A fake node: its GPUs' modes, when they turn Enabled, and a log of the commands run."""

    root: Path

    def run(self) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "PATH": f"{self.root / 'bin'}:{os.environ['PATH']}",
            "STUB": str(self.root),
            "GPU_PLATFORM_STATE_DIR": str(self.root / "state"),
            "GPU_PLATFORM_DRIVER_WAIT_SECONDS": "15",
        }
        return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)

    @property
    def calls(self) -> list[str]:
        path = self.root / "calls"
        return path.read_text().splitlines() if path.exists() else []

    def reboots(self) -> None:
        """What a reboot does on an A100 whose enable was pending: the mode takes effect."""
        (self.root / "modes").write_text((self.root / "modes").read_text().replace("Disabled", "Enabled"))
        (self.root / "calls").unlink()


@pytest.fixture
def node(tmp_path: Path):
    def make(driver: bool = True, enables_on: str = "mig", gpus: int = 8, query_fails: bool = False) -> Node:
        bin_ = tmp_path / "bin"
        bin_.mkdir()
        (bin_ / "nvidia-smi").write_text(NVIDIA_SMI)
        for command in ("systemctl", "reboot", "shutdown", "sleep"):
            (bin_ / command).write_text(RECORDER)
        for stub in bin_.iterdir():
            stub.chmod(0o755)
        (tmp_path / "modes").write_text("Disabled\n" * gpus)
        (tmp_path / "enables-on").write_text(enables_on)
        if driver:
            (tmp_path / "driver").touch()
        if query_fails:
            (tmp_path / "query-fails").touch()
        return Node(tmp_path)

    return make


POWER_OFF = "shutdown -h now"


def test_hopper_gpus_enter_mig_mode_without_a_reset(node):
    n = node(enables_on="mig")
    assert n.run().returncode == 0
    assert "nvidia-smi -mig 1" in n.calls
    assert not [c for c in n.calls if c.startswith(("reboot", "shutdown", "nvidia-smi -r"))]


def test_gpus_already_in_mig_mode_are_left_alone(node):
    n = node(enables_on="never")
    (n.root / "modes").write_text("Enabled\n" * 8)
    assert n.run().returncode == 0
    assert [c for c in n.calls if not c.startswith("nvidia-smi -L")] == [
        "nvidia-smi --query-gpu=mig.mode.current --format=csv,noheader"
    ]


def test_a100_gpus_enter_mig_mode_after_a_reset_with_persistenced_stopped(node):
    n = node(enables_on="reset")
    assert n.run().returncode == 0
    calls = n.calls
    assert (
        calls.index("systemctl stop nvidia-persistenced.service")
        < calls.index("nvidia-smi -r")
        < calls.index("systemctl start nvidia-persistenced.service")
    )
    # the reset drops application clocks: the AMI's unit sets them again
    assert calls.index("nvidia-smi -r") < calls.index("systemctl try-restart set-nvidia-clocks.service")
    assert not [c for c in calls if c.startswith(("reboot", "shutdown"))]


def test_gpus_enabled_after_one_reboot_join(node):
    n = node(enables_on="never")
    first = n.run()
    assert first.returncode != 0
    assert "reboot" in n.calls  # the script fails, so kubelet (Requisite on its unit) cannot start meanwhile
    assert (n.root / "state" / "mig-reboot").exists()
    n.reboots()
    assert n.run().returncode == 0
    assert not [c for c in n.calls if c.startswith(("reboot", "shutdown"))]
    # joined: a later boot that needs a reboot gets one again instead of powering off
    assert not (n.root / "state" / "mig-reboot").exists()


def test_gpus_that_stay_disabled_after_the_reboot_power_the_node_off(node):
    n = node(enables_on="never")
    n.run()
    (n.root / "calls").unlink()
    second = n.run()  # after the reboot, still Disabled
    assert second.returncode != 0
    assert any(c.startswith(POWER_OFF) for c in n.calls)
    assert "reboot" not in n.calls
    assert "MIG mode could not be enabled" in second.stderr


def test_a_missing_driver_powers_the_node_off_after_waiting(node):
    n = node(driver=False)
    result = n.run()
    assert result.returncode != 0
    assert n.calls.count("sleep 5") == 3  # waited 15 s (the test's limit) for the driver
    assert any(c.startswith(POWER_OFF) for c in n.calls)
    assert "nvidia-smi -mig 1" not in n.calls


@pytest.mark.parametrize("broken", ["fails", "prints nothing"])
def test_an_nvidia_smi_that_fails_or_prints_nothing_counts_as_mig_off(node, broken):
    n = node(enables_on="mig", query_fails=broken == "fails")
    if broken == "prints nothing":
        (n.root / "modes").write_text("")
    assert n.run().returncode != 0  # never "on" by mistake: the node does not join
    assert "reboot" in n.calls
    (n.root / "calls").unlink()
    assert n.run().returncode != 0
    assert any(c.startswith(POWER_OFF) for c in n.calls)


def test_one_gpu_left_disabled_keeps_the_node_out(node):
    n = node(enables_on="never")
    (n.root / "modes").write_text("Enabled\n" * 7 + "Disabled\n")
    n.run()
    (n.root / "calls").unlink()
    assert n.run().returncode != 0 and any(c.startswith("shutdown") for c in n.calls)


# --- shellcheck, on the script and on the user data nodes receive ------------------------


def shellcheck(text: str) -> list[str]:
    assert SHELLCHECK.exists(), f"shellcheck not found at {SHELLCHECK}; run `make test`"
    result = subprocess.run(
        [str(SHELLCHECK), "-s", "bash", "-f", "gcc", "-"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result.stdout.splitlines()


def user_data_script(plan: Plan, pool: str) -> str:
    group = next(g["inputs"] for g in plan.of_type("aws:eks/nodeGroup:NodeGroup") if g["urn"].endswith(f"-{pool}"))
    template = plan.by_id(group["launchTemplate"]["id"])["inputs"]
    message = email.message_from_string(base64.b64decode(template["userData"]).decode())
    [part] = [p for p in message.walk() if p.get_content_type() == "text/x-shellscript"]
    return part.get_payload()


def test_shellcheck_finds_nothing_in_the_mig_mode_script():
    assert shellcheck(SCRIPT.read_text()) == []


def test_shellcheck_catches_a_seeded_quoting_bug():
    assert shellcheck(SCRIPT.read_text().replace('"$STATE_DIR/mig-reboot"', "$STATE_DIR/mig-reboot"))


def test_the_user_data_installs_the_check_before_kubelet_and_runs_it(prod_plan: Plan):
    script = user_data_script(prod_plan, "h100-mig")
    assert shellcheck(script) == []
    assert SCRIPT.read_text() in script  # the tested script, byte for byte
    unit = (NODE_SCRIPTS / "mig-mode.service").read_text()
    drop_in = (NODE_SCRIPTS / "kubelet-requires-mig-mode.conf").read_text()
    assert unit in script and drop_in in script
    # Ordered before nodeadm-run (which alone starts kubelet on AL2023) and required by it, after the driver.
    assert "Before=nodeadm-run.service kubelet.service set-nvidia-clocks.service" in unit
    assert "After=nvidia-kmod-load.service" in unit and "RequiredBy=nodeadm-run.service" in unit
    assert "After=cloud-final" not in unit  # started from cloud-final on the first boot: no deadlock
    # kubelet's own unit cannot start unless the check succeeded (a runtime mask does nothing on AL2023).
    assert "Requisite=gpu-platform-mig-mode.service" in drop_in and "After=gpu-platform-mig-mode.service" in drop_in
    assert "/etc/systemd/system/kubelet.service.d/10-gpu-platform-mig-mode.conf" in script
    assert (
        script.index("systemctl daemon-reload")
        < script.index("systemctl enable gpu-platform-mig-mode.service")
        < script.index("systemctl start gpu-platform-mig-mode.service")
    )
