"""The house rules that keep the code base navigable (issue 20), each checked on the tree and shown to fail on a
planted violation: no import cycle (function-level imports included), no private name imported across
modules, no private attribute reached on another object (`project._dirty`, ADR 0021), no import of
`core`/`gui` by their bare names (and a bare import fails loudly at run time), pytest's strict markers,
the mypy exclusion list only shrinking, and docs/ARCHITECTURE.md naming every module.

Ratchet lists (tools/import_rules.py, the mypy count below) name what is known and not fixed yet: they may only
shrink. A new violation fails; a
fixed one fails too until it is taken off the list, so the list always tells the truth."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tomllib

from tools import import_rules

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# modules mypy skips (ignore_errors overrides in pyproject.toml): fix one, take it off there, lower this number
MYPY_EXCLUDED_AT_MOST = 0


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


# ---- import cycles ------------------------------------------------------------------------------------------
def test_no_import_cycle_but_the_known_ones():
    found = import_rules.cycles(import_rules.import_graph())
    new = [group for group in found if group not in import_rules.KNOWN_CYCLES]
    gone = [group for group in import_rules.KNOWN_CYCLES if group not in found]
    assert not new, f"new import cycles (move the shared part into a module of its own): {new}"
    assert not gone, f"these cycles are gone: take them off import_rules.KNOWN_CYCLES: {gone}"


def test_a_function_level_import_that_closes_a_circle_is_a_cycle(tmp_path):
    root = _plant(tmp_path, {
        "core/__init__.py": "",
        "core/a.py": "from maskwork.core.b import helper\n",
        "core/b.py": "def helper():\n    from maskwork.core import a  # hidden in a function\n    return a\n",
        "core/c.py": "from . import a\n",  # relative imports resolve too; c is on no circle
    })
    graph = import_rules.import_graph(root, ["core"])
    assert graph["maskwork.core.c"] == {"maskwork.core.a"}
    assert import_rules.cycles(graph) == [["maskwork.core.a", "maskwork.core.b"]]


def test_make_lint_fails_on_a_new_cycle_and_on_a_known_one_that_is_gone(tmp_path, capsys, monkeypatch):
    root = _plant(tmp_path, {"core/__init__.py": "", "core/a.py": "from maskwork.core import b\n",
                             "core/b.py": "def f():\n    import maskwork.core.a\n", "gui/__init__.py": ""})
    assert import_rules.main() == 0, capsys.readouterr().out  # the tree: no cycle at all (the ratchet is empty)
    capsys.readouterr()
    monkeypatch.setattr(import_rules, "KNOWN_CYCLES", [["maskwork.core.x", "maskwork.core.y"]])
    assert import_rules.main(root) == 1
    out = capsys.readouterr().out
    assert "import cycle: maskwork.core.a <-> maskwork.core.b" in out
    assert "fixed, take it off KNOWN_CYCLES" in out  # a listed cycle the planted tree does not have


# ---- private names ------------------------------------------------------------------------------------------
def _private(found: list[str]) -> set[tuple[str, str, str]]:
    return {import_rules.private_import_key(line) for line in found}


def _check_ratchet(found: set, known_name: str, what_to_do: str) -> None:
    """A ratchet list of tools/import_rules.py tells the truth: nothing new beyond it, nothing fixed still on it."""
    known = getattr(import_rules, known_name)
    new, fixed = found - known, known - found
    assert not new, f"{what_to_do}: {new}"
    assert not fixed, f"fixed: take them off {known_name} in tools/import_rules.py: {fixed}"


def test_no_private_name_is_imported_from_another_module_but_the_known_ones():
    _check_ratchet(_private(import_rules.private_imports()), "KNOWN_PRIVATE_IMPORTS",
                   "make these names public where they are defined")


def test_a_planted_private_import_is_found(tmp_path):
    root = _plant(tmp_path, {
        "core/__init__.py": "",
        "core/a.py": "_LIMIT = 3\n__all__ = ['_LIMIT']\n",
        "core/b.py": "from maskwork.core.a import __all__, _LIMIT\n",
    })
    assert _private(import_rules.private_imports(root, ["core"])) == {
        ("maskwork.core.b", "_LIMIT", "maskwork.core.a")}


# ---- private attributes of another object (ADR 0021) --------------------------------------------------------
def _reach(found: list[str]) -> set[tuple[str, str]]:
    return {import_rules.private_attribute_key(line) for line in found}


def test_no_private_attribute_of_another_object_is_used_but_the_known_ones():
    found = _reach(import_rules.private_attributes())
    _check_ratchet(found, "KNOWN_PRIVATE_ATTRIBUTES", "give these classes a public method or property for them")
    assert not {key for key in found if key[0].startswith("maskwork.core.store.")}, "the store's are all gone"


def test_a_planted_reach_into_a_project_is_found(tmp_path):
    root = _plant(tmp_path, {
        "core/__init__.py": "",
        "core/store/project.py": (
            "class Project:\n"
            "    def __init__(self):\n        self._dirty = {}\n        self._writer = None\n"
            "    @classmethod\n    def open(cls):\n        project = cls()\n"
            "        project._writer = 'app'  # its own class: allowed\n        return project\n"
            "    def _saved(self, name):\n        self._dirty.pop(name, None)\n"),
        "core/store/autosave.py": (
            "import os\n"
            "def capture(project, p, point):\n"
            "    with project._lock:\n        names = sorted(project._dirty)\n"
            "    p._saved(names[0])\n"
            "    point = point._replace(x=1)  # namedtuple API, not private\n"
            "    os._exit(0)  # public despite its name\n"),
    })
    found = import_rules.private_attributes(root, ["core"])
    assert _reach(found) == {("maskwork.core.store.autosave", "project._lock"),
                             ("maskwork.core.store.autosave", "project._dirty"),
                             ("maskwork.core.store.autosave", "p._saved")}
    assert "maskwork.core.store.autosave:3 uses project._lock" in found


def test_make_lint_fails_on_a_planted_reach_into_a_project(tmp_path, capsys):
    root = _plant(tmp_path, {"core/__init__.py": "", "gui/__init__.py": "",
                             "core/recovery.py": "def recover(project, name):\n    project._adopt(name)\n"})
    assert import_rules.main(root) == 1
    out = capsys.readouterr().out
    assert "private attribute: maskwork.core.recovery:2 uses project._adopt" in out
    assert "fixed, take it off KNOWN_PRIVATE_ATTRIBUTES" in out  # the planted tree has none of the known ones


# ---- bare names ---------------------------------------------------------------------------------------------
def test_nothing_imports_core_or_gui_by_the_bare_name():
    assert import_rules.bare_imports() == []


def test_a_planted_bare_import_is_found(tmp_path):
    root = _plant(tmp_path, {"tests/test_x.py": "import os\nfrom core.domain.masks import Mask\n",
                             "main.py": "import gui\n"})
    assert import_rules.bare_imports(root, ["tests", "main.py"]) == [
        "tests/test_x.py:2 imports core.domain.masks; import maskwork.core.domain.masks instead",
        "main.py:1 imports gui; import maskwork.gui instead"]


def test_importing_core_or_gui_bare_from_the_repository_root_fails_with_a_sentence():
    """From the repository root `core` is importable as a folder; it must not give a second Mask class."""
    for module, package in (("core.domain.masks", "maskwork.core"), ("gui.state", "maskwork.gui")):
        out = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 1
        assert "ImportError: Maskwork's" in out.stderr and f"`{package}`" in out.stderr, out.stderr


# ---- pytest, mypy -------------------------------------------------------------------------------------------
def test_pytest_refuses_unknown_markers():
    assert "--strict-markers" in PYPROJECT["tool"]["pytest"]["ini_options"]["addopts"].split()


def mypy_excluded(config: dict) -> list[str]:
    return sorted(name for override in config["tool"]["mypy"].get("overrides", []) if override.get("ignore_errors")
                  for name in ([override["module"]] if isinstance(override["module"], str) else override["module"]))


def test_mypy_checks_core_and_gui_and_its_exclusions_only_shrink():
    mypy = PYPROJECT["tool"]["mypy"]
    assert {"maskwork.core", "maskwork.gui"} <= set(mypy["packages"])
    excluded = mypy_excluded(PYPROJECT)
    assert all(not name.endswith("*") for name in excluded), "exclude modules one by one, not whole packages"
    assert len(excluded) <= MYPY_EXCLUDED_AT_MOST, (
        f"{len(excluded)} modules are excluded from mypy, at most {MYPY_EXCLUDED_AT_MOST} may be: fix the new one")


def test_the_mypy_ratchet_counts_what_pyproject_excludes():
    planted = {"tool": {"mypy": {"overrides": [
        {"module": ["pycocotools.*"], "ignore_missing_imports": True},
        {"module": ["maskwork.core.a", "maskwork.core.b"], "ignore_errors": True},
        {"module": "maskwork.gui.c", "ignore_errors": True}]}}}
    assert mypy_excluded(planted) == ["maskwork.core.a", "maskwork.core.b", "maskwork.gui.c"]


# ---- the module map -----------------------------------------------------------------------------------------
def unnamed_modules(root: Path, doc: str) -> list[str]:
    """Modules of core/ and gui/ that the text does not name: by their path below core/ or gui/
    (`editing/records.py`), or by the file name alone when no other module has that name."""
    files = [p.relative_to(root) for p in import_rules.python_files(root, ["core", "gui"])]
    names = [p.name for p in files]
    missing = []
    for path in files:
        if path.name == "__init__.py":
            if len(path.parts) > 2 and f"{path.parts[-2]}/" not in doc:  # a package: its folder is named
                missing.append(path.as_posix())
            continue
        below = Path(*path.parts[1:]).as_posix()
        tails = {Path(*path.parts[i:]).as_posix() for i in range(1, len(path.parts) - 1)} | {below}
        named = any(re.search(rf"(?<![\w/]){re.escape(t)}", doc) for t in tails)
        if not named and names.count(path.name) == 1:
            named = re.search(rf"(?<![\w/]){re.escape(path.name)}", doc) is not None
        if not named:
            missing.append(path.as_posix())
    return missing


def test_architecture_names_every_module():
    missing = unnamed_modules(ROOT, (ROOT / "docs" / "ARCHITECTURE.md").read_text())
    assert not missing, f"docs/ARCHITECTURE.md does not name these modules; add one line each: {missing}"


def test_a_module_the_map_does_not_name_is_reported(tmp_path):
    root = _plant(tmp_path, {"core/__init__.py": "", "core/domain/masks.py": "", "core/models/__init__.py": "",
                             "core/models/compare.py": "", "core/metrics/compare.py": "",
                             "gui/controllers/undo.py": ""})
    doc = "`masks.py`, `models/`: `compare.py`; gui: `undo.py`"
    assert unnamed_modules(root, doc) == ["core/metrics/compare.py", "core/models/compare.py"]
