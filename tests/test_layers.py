"""The layering is enforced: import contracts (import-linter) and what loading the appliance pulls in.

The contracts live in pyproject.toml ([tool.importlinter]); scripts/test.sh runs ``lint-imports``.
These tests show that the contracts hold for the real tree and that they do catch a violation.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
NETWORK_MODULES = ("online", "socket", "http", "urllib.request", "ssl")

_IMPORT_ALL = """
import importlib, json, pkgutil, sys
import appliance
walk = pkgutil.walk_packages(appliance.__path__, "appliance.")
names = sorted(m.name for m in walk if not m.name.endswith(".__main__"))  # __main__ runs the CLI
for name in names:
    importlib.import_module(name)
prefixes = json.loads(sys.argv[1])
loaded = sorted(m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in prefixes))
print(json.dumps({"imported": names, "loaded": loaded}))
"""


def test_loading_every_appliance_module_loads_no_network_module() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, json.dumps(NETWORK_MODULES)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    report = json.loads(result.stdout)
    assert "appliance.shell.ceremony" in report["imported"] and "appliance.core.bundle" in report["imported"]
    assert report["loaded"] == []


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
    )


def _copy_tree(dest: Path) -> Path:
    for name in ("appliance", "online"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def test_contracts_hold_for_the_tree(tmp_path: Path) -> None:
    result = _lint_imports(_copy_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


VIOLATIONS = [
    ("appliance/core/_violation.py", "from appliance.common import durable\n", "appliance.core imports nothing above"),
    ("appliance/core/_violation.py", "import socket\n", "appliance.core imports nothing with effects"),
    ("appliance/common/_violation.py", "from appliance.shell import ceremony\n", "appliance.common never imports"),
    ("appliance/shell/_violation.py", "import online.client\n", "appliance never imports online"),
    ("online/_violation.py", "from appliance.shell import ceremony\n", "online imports only appliance.core"),
]


def test_a_deliberate_violation_breaks_its_contract(tmp_path: Path) -> None:
    for number, (path, source, contract) in enumerate(VIOLATIONS):
        tree = _copy_tree(tmp_path / str(number))
        (tree / path).write_text(source)
        result = _lint_imports(tree)
        assert result.returncode != 0, f"{path}: {source!r} was not caught"
        assert f"{contract}" in result.stdout and "BROKEN" in result.stdout, result.stdout


MAX_MODULE_LINES = 400


def _long_modules(root: Path) -> list[str]:
    return sorted(
        f"{path.relative_to(root)}: {lines} lines"
        for package in ("appliance", "online")
        for path in (root / package).rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    )


def test_no_module_is_longer_than_the_limit() -> None:
    assert _long_modules(ROOT) == [], f"split these modules along their seams (at most {MAX_MODULE_LINES} lines)"


def test_the_length_check_catches_a_long_module(tmp_path: Path) -> None:
    (tmp_path / "appliance").mkdir()
    (tmp_path / "online").mkdir()
    (tmp_path / "online" / "short.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    (tmp_path / "appliance" / "long.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    assert _long_modules(tmp_path) == [f"appliance/long.py: {MAX_MODULE_LINES + 1} lines"]
