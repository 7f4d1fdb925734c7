"""The layers of back-end/ only import downwards (the contract in pyproject.toml, checked with import-linter):
api -> services -> callbacks -> workers -> tasks -> results -> transcripts -> stt | speakers -> storage -> schemas
-> events -> db -> queueing -> audio -> core."""

import sys
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

from tests.conftest import REPO_ROOT


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    assert lint_imports(str(REPO_ROOT / "pyproject.toml"), no_cache=True, no_logo=True) == 0


def test_the_check_fails_on_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for package, source in {"upper": "", "lower": "import upper\n"}.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(source)
    config = tmp_path / "layers.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["upper", "lower"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "upper above lower"\ntype = "layers"\nlayers = ["upper", "lower"]\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    assert lint_imports(str(config), no_cache=True, no_logo=True) == 1
    for package in ("upper", "lower"):
        sys.modules.pop(package, None)
