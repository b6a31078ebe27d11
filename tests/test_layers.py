"""The library's layers hold: each rule below lists what a group of modules may import of
``actseg_lib``. Every ``import`` and ``from ... import`` of every module is read from its
syntax tree (relative and absolute, at module level and inside functions), so a lazy
import inside a function counts like any other. Imports by computed name
(``importlib.import_module``) are not seen.

    common/         nothing of actseg_lib (constants every layer may import); versions.py too
    nn/             common/ only
    models/<paper>  nn/, common/, postprocess, models/registry: never another paper's file
    data/           never metrics/, engine/ or models/; its generic modules (all but
                    synthact/ and sources.py, which dispatches to it) never data/synthact/
    engine/         no paper's model file (models/ and models/registry are fine)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import actseg_lib

PACKAGE_DIR = Path(actseg_lib.__file__).resolve().parent
PACKAGE = PACKAGE_DIR.name
# the files in models/ that are not a paper's model
MODEL_SUPPORT = ("__init__.py", "_catalogue.py", "registry.py")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    """Whether ``dotted`` names a module or package of the library (not a name in one)."""
    path = PACKAGE_DIR.parent.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every library module that ``path`` imports. ``from X import a``
    names X, and X.a too when ``a`` is a module; ``from . import a`` (only submodules
    named) names just the submodules."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            submodules = [f"{target}.{a.name}" for a in node.names if is_module(f"{target}.{a.name}")]
            if len(submodules) < len(node.names) or node.module:
                found.append((node.lineno, target))
            found += [(node.lineno, sub) for sub in submodules]
    return [(line, target) for line, target in found if within(target, PACKAGE)]


def within(target: str, *prefixes: str) -> bool:
    return any(target == p or target.startswith(p + ".") for p in prefixes)


def lib(*names: str) -> tuple[str, ...]:
    return tuple(f"{PACKAGE}.{n}" for n in names)


def files(under: str) -> list[Path]:
    return sorted((PACKAGE_DIR / under).rglob("*.py"))


def violations(paths, forbidden) -> list[str]:
    """``file:line imports module`` for every import for which ``forbidden(module)``."""
    return [
        f"{path.relative_to(PACKAGE_DIR.parent)}:{line} imports {target}"
        for path in paths
        for line, target in imports(path)
        if forbidden(target)
    ]


MODEL_FILES = [p for p in sorted((PACKAGE_DIR / "models").glob("*.py")) if p.name not in MODEL_SUPPORT]


def test_the_reader_sees_every_kind_of_import():
    """The parser itself: relative, absolute, submodule and function-level imports."""
    seen = {target for _, target in imports(PACKAGE_DIR / "engine" / "run.py")}
    assert set(lib("models.registry", "data.prepare")) <= seen  # data.prepare: inside a function
    seen = {target for _, target in imports(PACKAGE_DIR / "models" / "_catalogue.py")}
    assert set(lib("models.ms_tcn", "models.interact")) <= seen  # from . import a, b
    assert lib("models") not in seen
    seen = {target for _, target in imports(PACKAGE_DIR / "data" / "sources.py")}
    assert set(lib("data.synthact", "data.formats.ntu")) <= seen


def test_every_layer_has_files():
    """No rule below passes vacuously because its folder moved."""
    for under in ("common", "nn", "models", "data", "engine", "metrics"):
        assert files(under), under
    assert len(MODEL_FILES) >= 6 and {p.name for p in MODEL_FILES} >= {"ms_tcn.py", "interact.py"}


@pytest.mark.parametrize("path", MODEL_FILES, ids=lambda p: p.name)
def test_a_paper_file_imports_only_shared_blocks_and_the_registry(path):
    allowed = lib("nn", "common", "postprocess", "models.registry")
    assert violations([path], lambda t: not within(t, *allowed)) == []


def test_the_engine_imports_no_model_file():
    allowed = lib("models", "models.registry")
    assert violations(files("engine"), lambda t: within(t, *lib("models")) and t not in allowed) == []


def test_data_imports_neither_metrics_nor_engine_nor_models():
    assert violations(files("data"), lambda t: within(t, *lib("metrics", "engine", "models"))) == []


def test_generic_data_modules_do_not_import_synthact():
    generic = [
        p
        for p in files("data")
        if not within(module_name(p), *lib("data.synthact")) and module_name(p) != f"{PACKAGE}.data.sources"
    ]
    assert {p.name for p in generic} >= {"datasets.py", "prepare.py", "ntu.py"}
    assert violations(generic, lambda t: within(t, *lib("data.synthact"))) == []


def test_common_imports_nothing_of_the_library():
    assert violations(files("common"), lambda t: not within(t, *lib("common"))) == []


def test_versions_import_nothing_of_the_library():
    """Every layer may read the versions (SynthAct's generator does), so they import nothing."""
    assert violations([PACKAGE_DIR / "versions.py"], lambda t: True) == []


def test_nn_imports_only_common():
    assert violations(files("nn"), lambda t: not within(t, *lib("nn", "common"))) == []
