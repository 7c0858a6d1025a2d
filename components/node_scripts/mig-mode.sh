#!/bin/bash
# gpu-platform: every GPU of this node in MIG mode before kubelet starts, or the node leaves.
#
# Runs on every boot, before nodeadm-run.service starts kubelet (gpu-platform-mig-mode.service), and once
# from the user data on the first boot. Fails closed: a driver that does not come up, an nvidia-smi that
# fails or prints nothing, and a GPU not "Enabled" all count as "MIG off".
#  - H100/H200: MIG mode takes effect without a GPU reset but is lost at every reboot or driver reload
#    (NVIDIA MIG user guide, "GPU Reset on Hopper+ GPUs"): this script turns it on at every boot.
#  - A100: the mode persists, but takes effect only after a GPU reset, which nvidia-persistenced blocks
#    (NVIDIA/gpu-operator#118) and, if a reset is refused, after one reboot.
# A node that still is not in MIG mode powers off: the Auto Scaling group replaces a stopped instance, so it
# is neither joined in the wrong mode nor left running and billed. kubelet cannot start meanwhile: its
# drop-in makes this unit Requisite (a failed check fails kubelet's start).
set -u

STATE_DIR=${GPU_PLATFORM_STATE_DIR:-/var/lib/gpu-platform}
DRIVER_WAIT_SECONDS=${GPU_PLATFORM_DRIVER_WAIT_SECONDS:-300}

log() { echo "gpu-platform-mig-mode: $*" >&2; }

# Every GPU reports MIG mode Enabled; anything else (no output, a failure, one Disabled) is "off".
all_enabled() {
  local modes
  modes=$(nvidia-smi --query-gpu=mig.mode.current --format=csv,noheader 2>/dev/null) || return 1
  [ -n "$modes" ] || return 1
  ! grep -qvx 'Enabled' <<<"$modes"
}

leave() {
  log "$1; powering off so the node group replaces this instance"
  shutdown -h now "gpu-platform: $1"
  exit 1
}

enabled() {
  rm -f "$STATE_DIR/mig-reboot"  # a later boot may use its one reboot again
  exit 0
}

driver_up() {
  local waited=0
  until nvidia-smi -L >/dev/null 2>&1; do
    [ "$waited" -ge "$DRIVER_WAIT_SECONDS" ] && return 1
    sleep 5
    waited=$((waited + 5))
  done
}

driver_up || leave "the NVIDIA driver did not come up within ${DRIVER_WAIT_SECONDS}s"
all_enabled && enabled

nvidia-smi -mig 1 >/dev/null 2>&1
all_enabled && enabled

# Pending until the GPUs reset (A100): persistenced holds them open, so stop it for the reset; the reset
# drops application clocks, so the AMI's set-nvidia-clocks runs again after it.
systemctl stop nvidia-persistenced.service 2>/dev/null
nvidia-smi -r >/dev/null 2>&1
systemctl start nvidia-persistenced.service 2>/dev/null
nvidia-smi -mig 1 >/dev/null 2>&1
systemctl try-restart set-nvidia-clocks.service 2>/dev/null
all_enabled && enabled

if [ ! -e "$STATE_DIR/mig-reboot" ]; then
  mkdir -p "$STATE_DIR" && touch "$STATE_DIR/mig-reboot"
  log "MIG mode is pending a GPU reset that was refused; rebooting once"
  reboot
  exit 1
fi
leave "MIG mode could not be enabled, even after a reboot"
