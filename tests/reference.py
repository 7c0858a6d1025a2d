"""Facts read from tests/facts/gpu-facts.md (written down with their sources), not from the program.

Tests compare the program's catalog and validation with these tables, so a wrong
fact in `components/catalog.py` shows up as a disagreement with the reference.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

GPU_FACTS = Path(__file__).resolve().parent / "facts" / "gpu-facts.md"
# The team's shared reference beside a checkout, where there is one: it must agree with GPU_FACTS.
SHARED_GPU_FACTS = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "gpu-facts.md"
SIZES = ("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge")


@dataclass(frozen=True)
class ReferenceInstance:
    instance_type: str
    gpus: int
    model: str  # e.g. "A100 80GB", as the MIG table names GPUs
    mig: bool


@dataclass(frozen=True)
class ReferenceProfile:
    gpu: str
    profile: str
    compute: int
    memory: int
    max_per_gpu: int


def _rows(heading: str, path: Path = GPU_FACTS) -> list[list[str]]:
    text = path.read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")] for line in section.splitlines() if line.startswith("|")
    ]
    return rows[2:]  # past the header and its rule


INSTANCES = "## AWS instance types and their GPUs"
MIG_PROFILES = "## MIG profiles"
NETWORKING = "## EFA interfaces and Capacity Blocks"
PLACEMENTS = "## MIG placements"


def tables(path: Path) -> dict[str, list[list[str]]]:
    """Both tables of a facts file, as rows of cells."""
    return {heading: _rows(heading, path) for heading in (INSTANCES, MIG_PROFILES)}


def instances() -> list[ReferenceInstance]:
    found = []
    for name, gpus, model, memory, mig in _rows(INSTANCES):
        family_sizes = re.fullmatch(r"(\w+)\.\{xlarge\.\.16xlarge\}", name)
        names = (
            [f"{family_sizes.group(1)}.{s}" for s in SIZES] if family_sizes else [n.strip() for n in name.split(",")]
        )
        label = f"{model} {memory.replace(' ', '')}" if model in ("A100", "H100", "H200") else model
        found += [ReferenceInstance(n, int(gpus), label, mig == "yes") for n in names]
    return found


def mig_profiles() -> list[ReferenceProfile]:
    found = []
    for gpus, profile, compute, memory, most in _rows(MIG_PROFILES):
        for gpu in gpus.split(","):
            found.append(ReferenceProfile(gpu.strip(), profile, int(compute), int(memory), int(most)))
    return found


def networking() -> dict[str, tuple[int, bool]]:
    """Instance type -> (EFA interfaces, sold as Capacity Blocks), for the types that have either."""
    return {
        name.strip(): (int(efa), blocks == "yes")
        for names, efa, blocks in _rows(NETWORKING)
        for name in names.split(",")
    }


@functools.cache
def mig_start_slots() -> dict[tuple[int, int], tuple[int, ...]]:
    """(compute, memory slices) -> the memory slices an instance of that shape may start at."""
    return {
        (int(compute), int(memory)): tuple(int(s) for s in starts.split(","))
        for compute, memory, starts in _rows(PLACEMENTS)
    }


def place(shapes: list[tuple[int, int]]) -> list[int] | None:
    """Start slots for instances of these (compute, memory) shapes on one GPU, none sharing a memory slice, or
    None where there are none: a search over NVIDIA's table, independent of the program's slice arithmetic."""
    starts = mig_start_slots()

    @functools.cache  # (instance, slices used) repeats across orders: without it the search is exponential
    def search(i: int, used: frozenset[int]) -> list[int] | None:
        if i == len(shapes):
            return []
        memory = shapes[i][1]
        for start in starts[shapes[i]]:
            taken = frozenset(range(start, start + memory))
            if not taken & used and (rest := search(i + 1, used | taken)) is not None:
                return [start, *rest]
        return None

    return search(0, frozenset())
