"""Every stored file is read through its declared schema (core/store/schemas): a damaged field gets one
sentence naming the file and the field, the CLI exits 2 without a traceback, and the rest of the project
stays usable. Real nuclei images and their COCO annotations, imported into a project in tmp_path."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from maskwork.core.cli import run
from maskwork.core.comparison.cache import PredictionCache
from maskwork.core.domain.errors import InputError, ModelError
from maskwork.core.formats.coco import read_json as read_coco
from maskwork.core.formats.labelme import import_labelme
from maskwork.core.formats.yolo_labels import read_label_file
from maskwork.core.models.catalog import user_models
from maskwork.core.store.edit_log import frame
from maskwork.core.store.project import Project
from maskwork.core.store.schemas import MAX_DEPTH, STORED_FILES, StoredFile

ROOT = Path(__file__).resolve().parents[2]
DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 KB of nesting: json.loads alone ends in RecursionError


@pytest.fixture
def imported(nuclei_small):
    """A saved project of 8 real nuclei images with their imported annotations."""
    folder, gt, _doc = nuclei_small
    assert run(["import", str(gt), str(folder)]) == 0
    store = folder / ".maskwork"
    names = sorted(p.relative_to(store / "annotations").as_posix()[: -len(".json")]
                   for p in (store / "annotations").rglob("*.json"))
    assert len(names) == 8
    return folder, store, names


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _one_sentence(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


# ---- project.json ------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage, expected", [
    (lambda d: d.update(version="2.0"), "written by a newer Maskwork (version 2.0); update Maskwork"),
    (lambda d: d.update(version=None), "field version should be a whole number, not None"),
    (lambda d: d["settings"].update(exclude_dirs=5), "field settings.exclude_dirs should be a list, not 5"),
    (lambda d: d["classes"][0].update(id=-3), "field classes[0].id is -3, below the smallest allowed value 0"),
    (lambda d: d.update(saved_ns="yesterday"), "field saved_ns should be a whole number, not 'yesterday'"),
])
def test_a_damaged_project_file_is_one_sentence_and_exit_2(imported, tmp_path, capsys, damage, expected):
    folder, store, _names = imported
    _edit(store / "project.json", damage)
    assert run(["export", str(folder), str(tmp_path / "out.json")]) == 2
    err = _one_sentence(capsys)
    assert str(store / "project.json") in err and expected in err


def test_a_project_file_holding_a_list_says_so(imported, tmp_path, capsys):
    folder, store, _names = imported
    (store / "project.json").write_text("[1, 2, 3]")
    assert run(["export", str(folder), str(tmp_path / "out.json")]) == 2
    assert "project.json: should hold a JSON object {...}, not a list" in _one_sentence(capsys)


# ---- annotations -------------------------------------------------------------------------------------
def _first_instance(doc: dict) -> dict:
    return doc["corrected"]["instances"][0]


@pytest.mark.parametrize("damage, expected", [
    (lambda d: d.update(version="1.5"), "was written by a newer Maskwork (version 1.5); update Maskwork"),
    (lambda d: d.update(version=7), "was written by a newer Maskwork (version 7)"),
    (lambda d: d.update(width=10**12), "field width is 1000000000000, above the largest allowed value"),
    (lambda d: d.update(height=-4), "field height is -4, below the smallest allowed value 1"),
    (lambda d: _first_instance(d).update(x0=-1), "field corrected.instances[0].x0 is -1, below the smallest"),
    (lambda d: _first_instance(d).update(y0=d["height"]), "field corrected.instances[0] is out of bounds"),
    (lambda d: _first_instance(d).update(class_id="2"), "field corrected.instances[0].class_id should be a whole"),
])
def test_one_damaged_annotation_reports_itself_and_the_other_images_open(imported, damage, expected):
    folder, store, names = imported
    bad = store / "annotations" / (names[0] + ".json")
    _edit(bad, damage)
    project = Project.open(folder)
    with pytest.raises(InputError) as err:
        project.annotation(names[0])
    assert str(err.value).startswith(str(bad)) and expected in str(err.value)
    assert "\n" not in str(err.value)
    for name in names[1:]:  # the rest of the project stays usable
        assert project.annotation(name).corrected.instances


def test_a_damaged_annotation_fails_the_export_in_one_sentence(imported, tmp_path, capsys):
    folder, store, names = imported
    _edit(store / "annotations" / (names[3] + ".json"), lambda d: d.update(width="wide"))
    assert run(["export", str(folder), str(tmp_path / "out.json")]) == 2
    err = _one_sentence(capsys)
    assert names[3] + ".json: field width should be a whole number, not 'wide'" in err
    assert run(["export", str(folder), str(tmp_path / "some.json"), "--images", *names[4:]]) == 0


# ---- autosave and crash journal ----------------------------------------------------------------------
def _unsaved_edit(folder: Path, name: str) -> None:
    """Leave autosaved, unsaved work behind, as a killed window does."""
    project = Project.open(folder, writer="test")
    ann = project.annotation(name)
    ann.corrected.instances = ann.corrected.instances[1:]
    project.mark_dirty(name)
    project.classes.add("debris")
    project.journal_classes()
    project.autosave()
    project.close()  # without saving: the next open finds the snapshots, as after a crash


def test_autosave_with_a_string_saved_ns_is_a_warning_and_the_project_opens(imported):
    folder, store, names = imported
    _unsaved_edit(folder, names[2])
    snapshot = store / "autosave" / "annotations" / (names[2] + ".json")
    _edit(snapshot, lambda d: d.update(saved_ns="soon"))
    _edit(store / "autosave" / "project.json", lambda d: d.update(saved_ns="later"))
    project = Project.open(folder, writer="test")
    try:
        text = " | ".join(project.warnings)
        assert f"{snapshot}: field saved_ns should be a whole number, not 'soon'" in text
        assert "autosave/project.json: field saved_ns should be a whole number, not 'later'" in text
        assert all(project.annotation(n).corrected.instances for n in names)
    finally:
        project.close()


@pytest.mark.parametrize("seq, shown", [("x", "'x'"), ([1, 2], "a list")])
def test_a_journal_record_with_a_damaged_seq_is_skipped_with_a_warning(imported, seq, shown):
    folder, store, names = imported
    log = store / "autosave" / "edits" / (names[1] + ".log")
    log.parent.mkdir(parents=True)
    log.write_bytes(frame({"log": "0123abcd"}) + frame({"seq": seq, "status": "corrected", "full": True}))
    project = Project.open(folder, writer="test")
    try:
        assert any(f"{log} (record 2): field seq should be a whole number, not {shown}" in w for w in project.warnings)
        assert log.exists()  # kept for inspection
        assert all(project.annotation(n).corrected.instances for n in names)
    finally:
        project.close()


# ---- the user's model list ---------------------------------------------------------------------------
@pytest.fixture
def config(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    (tmp_path / "config").mkdir()
    return tmp_path / "config"


def test_a_models_entry_without_arch_is_skipped_and_the_others_stay(config, tmp_path):
    good = {"name": "cells", "path": str(tmp_path / "cells.pt"), "arch": "maskrcnn_resnet50_fpn", "task": "instance",
            "classes": [{"id": 0, "name": "background", "color": "#000000"}, {"id": 1, "name": "cell",
                                                                             "color": "#ff0000"}], "input": {}}
    broken = {k: v for k, v in good.items() if k != "arch"} | {"name": "nuclei"}
    (config / "models.json").write_text(json.dumps({"version": 1, "models": [broken, good]}))
    assert [e["name"] for e in user_models.read_entries()] == ["cells"]
    assert [s.name for s in user_models.user_specs()] == ["cells"]
    skipped = user_models.skipped_entries()
    assert len(skipped) == 1 and "models.json, model 1 ('nuclei'): field arch is missing; this model is left out" \
        in skipped[0]
    user_models.unregister("cells")  # rewriting the list keeps the damaged entry for the user to fix
    assert json.loads((config / "models.json").read_text())["models"] == [broken]


def test_a_models_file_from_a_newer_maskwork_says_so(config):
    (config / "models.json").write_text(json.dumps({"version": 3, "models": []}))
    with pytest.raises(ModelError, match=r"models.json was written by a newer Maskwork \(version 3\)"):
        user_models.read_entries()


# ---- YOLO class index --------------------------------------------------------------------------------
def test_a_yolo_class_index_of_5000_digits_is_one_sentence(tmp_path):
    label = tmp_path / "a.txt"
    label.write_text("7" * 5000 + " 0.1 0.1 0.5 0.1 0.3 0.4\n")
    with pytest.raises(InputError, match=r"a.txt: line 1: the class index is a 5,000-digit number"):
        read_label_file(label, {0: 1}, 100, 100, tmp_path / "classes.txt")


# ---- deep nesting ------------------------------------------------------------------------------------
def test_deeply_nested_stored_files_are_refused_not_a_recursion_error(imported, config, tmp_path):
    folder, store, names = imported
    (store / "annotations" / (names[0] + ".json")).write_bytes(DEEP)
    project = Project.open(folder)
    with pytest.raises(InputError, match=f"nests 100000 levels deep, more than the {MAX_DEPTH}"):
        project.annotation(names[0])
    assert project.annotation(names[1]).corrected.instances
    (store / "project.json").write_bytes(DEEP)
    with pytest.raises(InputError, match="project.json nests 100000 levels deep"):
        Project.open(folder)
    (config / "models.json").write_bytes(DEEP)
    with pytest.raises(ModelError, match="models.json nests 100000 levels deep"):
        user_models.read_entries()


def test_deeply_nested_coco_and_labelme_are_refused(nuclei_small, tmp_path):
    folder, _gt, _doc = nuclei_small
    coco = tmp_path / "deep_coco.json"
    coco.write_bytes(DEEP)
    with pytest.raises(InputError, match="deep_coco.json nests 100000 levels deep"):
        read_coco(coco)
    labelme = tmp_path / "labelme"
    labelme.mkdir()
    (labelme / "a.json").write_bytes(b'{"shapes": ' + DEEP + b"}")
    with pytest.raises(InputError, match="a.json nests 100001 levels deep"):
        import_labelme(Project.open(folder), labelme)


def test_a_damaged_comparison_cache_entry_is_predicted_again(tmp_path):
    cache = PredictionCache(tmp_path, "model")
    cache.put("img", {"detections": [{"category_id": 1, "score": 0.9}], "latency_ms": 12.5})
    assert cache.get("img") == {"detections": [{"category_id": 1, "score": 0.9}], "latency_ms": 12.5}
    entry = tmp_path / "model" / "img.json"
    for damaged in (DEEP, b'{"detections": 5, "latency_ms": 1}', b'{"detections": [], "latency_ms": "slow"}'):
        entry.write_bytes(damaged)
        assert cache.get("img") is None  # a miss, not a RecursionError or a TypeError later


# ---- every reader goes through the schemas -----------------------------------------------------------
# json.load(s) outside core/store/schemas/, each with why it is not a stored file. A new reader of a stored
# file must use load_json / check; one of a file from elsewhere uses schemas.loads (depth-limited) instead.
ALLOWED = {
    "core/cli/io_commands.py": "json.loads(json.dumps(...)): turns numpy scalars into plain numbers, no file",
    "core/formats/yolo_labels.py": "a quoted YAML scalar decoded as a JSON string, not a document",
}


def _json_load_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("load", "loads") and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "json"]


def test_no_reader_in_core_parses_json_outside_the_schema_loader():
    found = {}
    for path in sorted([*(ROOT / "core").rglob("*.py"), *(ROOT / "gui").rglob("*.py"), ROOT / "main.py"]):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("core/store/schemas/") or rel in ALLOWED:
            continue
        lines = _json_load_calls(path)
        if lines:
            found[rel] = lines
    assert not found, f"json.load(s) outside core/store/schemas (use load_json with a schema): {found}"


def test_every_stored_file_kind_has_a_schema_and_its_readers_use_the_loader():
    for kind in STORED_FILES:
        assert kind.schemas and all(issubclass(s, StoredFile) for s in kind.schemas), kind.where
        for reader in kind.readers:
            text = (ROOT / reader).read_text(encoding="utf-8")
            assert "core.store.schemas" in text and any(s.__name__ in text for s in kind.schemas), (kind.where, reader)
