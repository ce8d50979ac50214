"""Imports flow one way (design.md §1): the engine knows no HTTP, the API knows no torch."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "qwen3_server"

# (modules under this path, imports they must not make)
RULES = [
    ("engine", ("fastapi", "starlette", "pydantic", "sse_starlette", "qwen3_server.api", "qwen3_server.parsers",
                "qwen3_server.cli", "qwen3_server.server", "qwen3_server.loader")),
    ("api", ("torch", "transformers", "qwen3_server.engine.engine", "qwen3_server.engine.async_engine",
             "qwen3_server.engine.model_runner", "qwen3_server.engine.sampler", "qwen3_server.loader",
             "qwen3_server.cli", "qwen3_server.server")),
    ("parsers", ("torch", "fastapi", "pydantic", "qwen3_server.api", "qwen3_server.engine")),
    ("model_spec.py", ("torch", "transformers", "qwen3_server.")),
    ("registry.py", ("torch", "transformers", "qwen3_server.api", "qwen3_server.engine", "qwen3_server.loader")),
    ("config.py", ("torch", "transformers", "qwen3_server.")),
    ("memory.py", ("transformers", "qwen3_server.api", "qwen3_server.engine", "qwen3_server.loader")),
]


def imports_of(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def module_files(relative: str) -> list[Path]:
    target = PACKAGE / relative
    return sorted(target.rglob("*.py")) if target.is_dir() else [target]


@pytest.mark.parametrize("relative,forbidden", RULES, ids=[rule[0] for rule in RULES])
def test_imports_flow_one_way(relative, forbidden):
    files = module_files(relative)
    assert files, f"nothing found at {relative}"
    for path in files:
        for name in imports_of(path):
            for banned in forbidden:
                hit = name == banned.rstrip(".") or name.startswith(banned if banned.endswith(".") else banned + ".")
                # memory.py may read the registry's dataclasses; registry/config import nothing internal.
                assert not hit, f"{path.relative_to(PACKAGE.parent)} imports {name}"


def test_every_module_has_a_one_line_docstring():
    for path in PACKAGE.rglob("*.py"):
        if path.name == "__init__.py" and not path.read_text().strip():
            continue
        docstring = ast.get_docstring(ast.parse(path.read_text()))
        assert docstring and "\n" not in docstring.strip(), f"{path.name} needs a one-line module docstring"
