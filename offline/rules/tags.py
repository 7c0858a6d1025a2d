"""Tags: what AWS takes on any resource."""

from __future__ import annotations

from collections.abc import Iterator

from gpu_platform.offline.rules import Request, known, rule

TAGGING = "docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html (tag naming limits and requirements)"


@rule("tags", TAGGING)
def _tags(request: Request) -> Iterator[str]:
    tags = request.inputs.get("tags")
    if not isinstance(tags, dict):  # a type that takes no tags gets none of the provider's either
        return
    # The provider drops keys starting with `aws:` before it calls AWS (terraform-provider-aws
    # KeyValueTags.IgnoreSystem, case-sensitive): they are not sent, not counted and not refused.
    merged = {
        k: v for k, v in {**request.default_tags, **tags}.items() if isinstance(k, str) and not k.startswith("aws:")
    }
    if len(merged) > 50:
        yield f"{len(merged)} tags (with the provider's default tags); AWS takes at most 50 per resource"
    for key, value in merged.items():
        if key.lower().startswith("aws:"):
            yield f"tag key {key!r} starts with {key[:4]!r}, which AWS reserves for its own tags"
        if not 1 <= len(key) <= 128:
            yield f"tag key {key!r} is {len(key)} characters; AWS takes 1 to 128"
        if isinstance(value, str) and known(value) and len(value) > 256:
            yield f"tag {key!r} has a value of {len(value)} characters; AWS takes at most 256"
