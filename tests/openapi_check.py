"""Validates our responses against OpenAI's published OpenAPI schemas (../shared/spec)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Optional

import yaml

SPEC_CANDIDATES = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "spec" / "openai-openapi.yaml",
    Path(__file__).resolve().parent.parent / "shared" / "spec" / "openai-openapi.yaml",
)


def spec_path() -> Optional[Path]:
    return next((p for p in SPEC_CANDIDATES if p.exists()), None)


def _rewrite_nullable(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` means nothing to JSON Schema: turn it into anyOf [..., null]."""
    if isinstance(node, list):
        return [_rewrite_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _rewrite_nullable(value) for key, value in node.items()}
    if node.pop("nullable", False) is True:
        return {"anyOf": [node, {"type": "null"}]}
    return node


@functools.lru_cache(maxsize=1)
def _registry():
    from referencing import Registry, Resource

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec = _rewrite_nullable(yaml.load(spec_path().read_text(), Loader=loader))
    return Registry().with_resource("urn:openai", Resource.from_contents(spec, default_specification=_draft()))


def _draft():
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


def validate(schema_name: str, instance: Any) -> None:
    """Raises jsonschema.ValidationError when `instance` does not match components/schemas/<name>."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator({"$ref": f"urn:openai#/components/schemas/{schema_name}"}, registry=_registry())
    validator.validate(instance)
