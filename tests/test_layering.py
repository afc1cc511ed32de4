"""Which packages may import which, read from the source (ast): nothing is imported to check.

- ``liftlab.stats`` and ``liftlab.analysis`` are plain Python: no Django, no DRF, no Django app
  (nor ``liftlab.api``, the DRF glue).
- ``liftlab.experiments``' domain code (models, services, results, errors, ...) neither
  imports ``liftlab.api`` nor DRF; it raises ``liftlab.experiments.errors`` and the API
  translates them. ``views.py`` and ``serializers.py`` are the API side by nature.
- ``liftlab.demo`` does not import ``liftlab.cli`` (the CLI drives the demo, not the reverse).

Every import counts, also one inside a function or under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps

SRC = Path(__file__).resolve().parents[1] / "src"


@dataclass(frozen=True)
class Rule:
    name: str
    packages: tuple[str, ...]  # the modules the rule binds (these packages, all their modules)
    forbidden: tuple[str, ...]  # what they must not import (these modules and their submodules)
    exempt: tuple[str, ...] = ()  # modules of those packages the rule does not bind


def _django_apps() -> tuple[str, ...]:
    """liftlab's Django apps, as installed, and the API glue (not an app, but Django all over)."""
    names = {config.name for config in apps.get_app_configs() if config.name.startswith("liftlab.")}
    return (*sorted(names), "liftlab.api")


def rules() -> list[Rule]:
    return [
        Rule(
            "stats and analysis are plain Python",
            packages=("liftlab.stats", "liftlab.analysis"),
            forbidden=("django", "rest_framework", *_django_apps()),
        ),
        Rule(
            "the experiments' domain code knows nothing of the API",
            packages=("liftlab.experiments",),
            forbidden=("liftlab.api", "rest_framework"),
            exempt=("liftlab.experiments.views", "liftlab.experiments.serializers"),
        ),
        Rule(
            "the demo does not import the CLI",
            packages=("liftlab.demo",),
            forbidden=("liftlab.cli",),
        ),
    ]


def module_name(path: Path, src: Path) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(package: str, src: Path = SRC) -> dict[str, Path]:
    root = src.joinpath(*package.split("."))
    return {module_name(path, src): path for path in sorted(root.rglob("*.py"))}


def imported(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import; ``from a import b`` counts as ``a`` and as ``a.b``."""
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the importing module's package
                package = module.split(".")
                base = package[: len(package) - node.level + (1 if is_package else 0)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            found.append((node.lineno, source))
            found += [(node.lineno, f"{source}.{alias.name}") for alias in node.names]
    return found


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(rule: Rule, src: Path = SRC) -> list[str]:
    found = []
    for package in rule.packages:
        for module, path in modules_of(package, src).items():
            if any(within(module, exempt) for exempt in rule.exempt):
                continue
            for line, name in imported(module, path):
                for prefix in rule.forbidden:
                    if within(name, prefix):
                        found.append(f"{path.relative_to(src)}:{line} imports {name}")
    return sorted(set(found))


@pytest.mark.parametrize("rule", rules(), ids=lambda rule: rule.name)
def test_layering(rule: Rule):
    assert all(modules_of(package) for package in rule.packages), "a package has moved"
    found = violations(rule)
    assert not found, "\n".join([f"{rule.name}:", *found])


def test_a_forbidden_import_is_seen(tmp_path):
    """The check itself: absolute, relative and ``from a import b`` imports are all caught."""
    package = tmp_path / "liftlab" / "demo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from .. import cli\n")
    (package / "one.py").write_text("def f():\n    import liftlab.cli.results\n")
    (package / "two.py").write_text("from ..cli import CommandError\n")
    (package / "runner.py").write_text("from liftlab.cli.results import render\n")

    assert violations(Rule("demo", ("liftlab.demo",), ("liftlab.cli",)), tmp_path) == [
        "liftlab/demo/__init__.py:1 imports liftlab.cli",
        "liftlab/demo/one.py:2 imports liftlab.cli.results",
        "liftlab/demo/runner.py:1 imports liftlab.cli.results",
        "liftlab/demo/runner.py:1 imports liftlab.cli.results.render",
        "liftlab/demo/two.py:1 imports liftlab.cli",
        "liftlab/demo/two.py:1 imports liftlab.cli.CommandError",
    ]
