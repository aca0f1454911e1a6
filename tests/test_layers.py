"""Imports follow the data path: collect → sessionize → store → query → api / web / export.

Every module under ``src/watchdepth`` is parsed (``ast``, so imports inside functions and
under ``TYPE_CHECKING`` count too) and its imports are checked against the layer rules:

- the layers below the readers (collect, sessionize, store, query, catalog) import none of
  api, web, export: they are asked, they do not ask an HTTP handler;
- export imports neither api nor web (the api and app layers wire export's routes);
- no module imports a private name (leading underscore) from another module.

The rules name package prefixes (``watchdepth.api``, ...), not files, so they hold while
modules move inside their packages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

#: Packages that read the data, and the modules that are not allowed to import them.
READERS = ("watchdepth.api", "watchdepth.web", "watchdepth.export")
#: layer prefix -> the prefixes it must not import.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "watchdepth.collect": READERS,
    "watchdepth.sessionize": READERS,
    "watchdepth.store": READERS,
    "watchdepth.query": READERS,
    "watchdepth.catalog": READERS,
    "watchdepth.export": ("watchdepth.api", "watchdepth.web"),
}
#: (importing module, imported module, private name) -> why it is allowed. Keep it empty.
PRIVATE_EXCEPTIONS: dict[tuple[str, str, str], str] = {}


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(src: Path = SRC) -> list[tuple[str, Path]]:
    return sorted((module_name(p, src), p) for p in (src / "watchdepth").rglob("*.py"))


def imports(name: str, path: Path) -> Iterator[tuple[int, str, str | None]]:
    """``(line, imported module, imported name or None)`` for every import in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield node.lineno, base, alias.name


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def targets(module: str, name: str | None) -> list[str]:
    """The modules an import may load: ``from a import b`` may load ``a`` or ``a.b``."""
    return [module] if name is None else [module, f"{module}.{name}"]


def layer_violations(src: Path = SRC) -> list[str]:
    out = []
    for name, path in modules(src):
        rules = [bad for layer, bad in FORBIDDEN.items() if within(name, layer)]
        for line, module, imported in imports(name, path):
            for bad in (b for rule in rules for b in rule):
                if any(within(t, bad) for t in targets(module, imported)):
                    shown = module + (f".{imported}" if imported else "")
                    out.append(f"{path.relative_to(src)}:{line}: {name} imports {shown} ({bad} is above it)")
                    break
    return out


def private_imports(src: Path = SRC) -> list[str]:
    out = []
    for name, path in modules(src):
        for line, module, imported in imports(name, path):
            if not within(module, "watchdepth") or module == name:
                continue
            hidden = [
                p
                for p in [*module.split("."), *([imported] if imported else [])]
                if p.startswith("_") and not (p.startswith("__") and p.endswith("__"))
            ]
            if hidden and (name, module, hidden[-1]) not in PRIVATE_EXCEPTIONS:
                out.append(f"{path.relative_to(src)}:{line}: {name} imports private {hidden[-1]} from {module}")
    return out


def test_the_tree_is_parsed() -> None:
    names = {n for n, _ in modules()}
    assert {"watchdepth.serve.app", "watchdepth.cli"} <= names
    assert all(any(within(n, layer) for n in names) for layer in FORBIDDEN), "a layer package is missing"


def test_each_layer_imports_only_layers_below_it() -> None:
    found = layer_violations()
    assert not found, "\n".join(found)


def test_no_module_imports_another_modules_private_names() -> None:
    found = private_imports()
    assert not found, "\n".join(found)


def test_private_exceptions_are_still_needed() -> None:
    used = {(n, m, i) for n, p in modules() for _, m, i in imports(n, p) if i is not None}
    assert [key for key in PRIVATE_EXCEPTIONS if key not in used] == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from watchdepth.export.source import ExportSpec\n", ["imports watchdepth.export.source.ExportSpec"]),
        ("def f():\n    from watchdepth.api import analytics\n", ["imports watchdepth.api.analytics"]),
        ("import watchdepth.web.routes\n", ["imports watchdepth.web.routes"]),
        ("from watchdepth import api\n", ["imports watchdepth.api"]),
        ("from ..export import jobs\n", ["imports watchdepth.export.jobs"]),
        ("from watchdepth.query import metrics\nfrom watchdepth.apiary import x\n", []),
    ],
)
def test_the_checks_catch_a_bad_import(tmp_path: Path, source: str, expected: list[str]) -> None:
    """The checker itself, on a throwaway tree: a query module importing upwards is caught."""
    pkg = tmp_path / "watchdepth" / "query"
    pkg.mkdir(parents=True)
    (tmp_path / "watchdepth" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_text(source + "from watchdepth.cli import _admin\n")
    found = layer_violations(tmp_path)
    assert len(found) == len(expected) and all(e in f for e, f in zip(expected, found))
    assert private_imports(tmp_path) == [
        "watchdepth/query/bad.py:"
        + str(source.count("\n") + 1)
        + ": watchdepth.query.bad imports private _admin from watchdepth.cli"
    ]
