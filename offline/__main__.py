"""`python -m offline plan --stack dev [--out FILE]`: run the program without the CLI, write its plan.

`python -m offline review FILE [--format text|markdown|sarif|json] [--policy-config FILE]`:
judge a plan or a `pulumi stack export` with the policy pack, as `pulumi preview` does.

`python -m offline cost FILE [--format text|json]`: what the stack costs at floor, expected and ceiling.

`python -m offline diff BASE HEAD [--format markdown|text|json]`: what a change adds, removes and changes,
and what it does to the cost and the GPUs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pulumi
from gpu_platform.offline import cost, diff, plan, review
from gpu_platform.offline.cloud import UnknownCall
from gpu_platform.offline.engine import EngineError, run_program
from gpu_platform.offline.review import ReviewError

PROJECT_DIR = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    # `python -m offline` in a checkout, `gpu-platform-offline` (or `python -m gpu_platform.offline`) installed.
    prog = "python -m offline" if __spec__ is None or __spec__.name == "offline.__main__" else Path(sys.argv[0]).name
    if prog == "__main__.py":
        prog = "python -m gpu_platform.offline"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan_cmd = commands.add_parser("plan", help="write the plan of a stack as a `pulumi stack export` document")
    plan_cmd.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default: dev)")
    plan_cmd.add_argument(
        "--out", type=Path, help="where to write the plan (default: build/plan-<stack>.json under the current folder)"
    )
    plan_cmd.add_argument(
        "--preview",
        action="store_true",
        help="as a first `pulumi preview`: what providers compute is unknown (default: as `up`)",
    )
    plan_cmd.add_argument(
        "--project",
        type=Path,
        default=PROJECT_DIR,
        help="the Pulumi project folder whose program to plan (default: this platform)",
    )
    review_cmd = commands.add_parser("review", help="judge a deployment (plan or stack export) with the policy pack")
    review_cmd.add_argument("file", type=Path, help="a deployment: build/plan-<stack>.json or `pulumi stack export`")
    review_cmd.add_argument("--format", choices=review.FORMATS, default="text", help="output format (default: text)")
    review_cmd.add_argument(
        "--policy-config", type=Path, help="policy config file (default: policies/config/<stack of the URNs>.json)"
    )
    cost_cmd = commands.add_parser("cost", help="price a deployment at floor, expected and ceiling")
    cost_cmd.add_argument("file", type=Path, help="a deployment: build/plan-<stack>.json or `pulumi stack export`")
    cost_cmd.add_argument("--format", choices=cost.FORMATS, default="text", help="output format (default: text)")
    diff_cmd = commands.add_parser("diff", help="what a change does: resources, inputs, cost and GPUs")
    diff_cmd.add_argument("base", type=Path, help="the deployment before the change (e.g. the base branch's plan)")
    diff_cmd.add_argument("head", type=Path, help="the deployment after it")
    diff_cmd.add_argument(
        "--format", choices=diff.FORMATS, default="markdown", help="output format (default: markdown)"
    )
    args = parser.parse_args(argv)
    if args.command == "review":
        return review.run(args.file, args.format, args.policy_config)
    if args.command == "cost":
        return cost.run(args.file, args.format)
    if args.command == "diff":
        return diff.run(args.base, args.head, args.format)
    suffix = "-preview" if args.preview else ""
    return write_plan(
        args.project,
        args.stack,
        args.out or Path("build") / f"plan-{args.stack}{suffix}.json",
        preview=args.preview,
    )


def write_plan(project: Path, stack: str, out: Path, preview: bool = False) -> int:
    # The CLI runs a program in its project folder: programs read their files relative to it.
    out, project = out.resolve(), project.resolve()
    os.chdir(project)
    try:
        recording = run_program(project, stack, preview=preview)
    # Config and stack-file errors, requests AWS would refuse, what the offline cloud cannot answer:
    # the message, no traceback.
    except (FileNotFoundError, pulumi.RunError, EngineError, UnknownCall) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    document = plan.deployment(recording)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(plan.dumps(document))
    print(plan.summary(document))
    try:
        print(cost.summary_line(cost.cost_of(document)))
    except ReviewError as err:  # a region without prices: the plan stands, its cost is unknown
        print(f"Cost: not priced ({err})")
    print(f"Plan of stack {stack} written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
