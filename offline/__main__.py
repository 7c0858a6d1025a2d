"""`python -m offline plan --stack dev [--out FILE]`: run the program without the CLI, write its plan."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pulumi

from offline import plan
from offline.engine import run_program

PROJECT_DIR = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan_cmd = commands.add_parser("plan", help="write the plan of a stack as a `pulumi stack export` document")
    plan_cmd.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    plan_cmd.add_argument("--out", type=Path, help="where to write the plan (default: build/plan-<stack>.json)")
    plan_cmd.add_argument("--project", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return write_plan(args.project, args.stack, args.out or args.project / "build" / f"plan-{args.stack}.json")


def write_plan(project: Path, stack: str, out: Path) -> int:
    try:
        recording = run_program(project, stack)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except pulumi.RunError as err:  # config errors and other expected failures: the message, no traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    document = plan.deployment(recording)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(plan.dumps(document))
    print(plan.summary(document))
    print(f"Plan of stack {stack} written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
