"""Model classes matched to a project's or a dataset's by name, with the real bundled models and data."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from maskwork.core.cli import run
from maskwork.core.domain.annotation import ClassInfo, ClassList, Layer
from maskwork.core.metrics.live_iou import LiveIoU
from maskwork.core.models.catalog.classlists import aerial_classes, nuclei_classes
from maskwork.core.models.class_map import ClassMap, fit_warning
from maskwork.core.models.prediction_layer import for_project, store_prediction
from maskwork.core.store.project import Project
from tests.gui.panels_support import nuclei_pick
from tests.unit.real_models import project_of

AERIAL_IMAGES = ["tile1_001.jpg", "tile3_004.jpg"]


def permuted_aerial() -> ClassList:
    """The aerial classes listed in another order, ids renumbered, names in other cases/spacing."""
    src = aerial_classes()
    order = [("unlabeled", 0), ("WATER", 5), (" Road", 3), ("land", 2), ("Building ", 1), ("vegetation", 4)]
    return ClassList(ClassInfo(i, name, src.get(old).color) for i, (name, old) in enumerate(order))


def test_names_match_case_insensitively_and_background_goes_to_zero():
    cmap = ClassMap(aerial_classes(), permuted_aerial())
    assert cmap.pairs == {0: 0, 5: 1, 3: 2, 2: 3, 1: 4, 4: 5} and not cmap.unmatched
    assert not cmap.is_identity()
    # nuclei "background" (id 0) -> the project's 0 though it is named "unlabeled"; "nucleus" has no match
    nuclei_in_aerial = ClassMap(nuclei_classes(), aerial_classes())
    assert nuclei_in_aerial.pairs == {0: 0} and nuclei_in_aerial.unmatched_names() == ["nucleus"]
    lm = np.array([[0, 1], [1, 0]], np.uint8)
    assert nuclei_in_aerial.apply_label_map(lm).tolist() == [[0, 0], [0, 0]]  # not "building" (id 1)
    ids, keep = nuclei_in_aerial.apply_class_ids(np.array([1, 1]))
    assert not keep.any()
    assert ClassMap(aerial_classes(), aerial_classes()).is_identity()
    # a model's class 0 of any other name is still "no class", unless the project has that name
    odd = ClassMap(ClassList.from_names(["_bg_", "road"]), aerial_classes())
    assert odd.pairs == {0: 0, 1: 3} and not odd.unmatched and odd.mapping_lines("project") == [
        "model road -> project road (id 3)"]
    assert ClassMap(ClassList.from_names(["road", "water"]), aerial_classes()).pairs == {0: 3, 1: 5}


def test_add_unmatched_keeps_model_colours_and_new_ids():
    project = aerial_classes()
    cmap = ClassMap(nuclei_classes(), project)
    added = cmap.add_unmatched()
    assert [(c.id, c.name, c.color) for c in added] == [(6, "nucleus", "#FF3B30")]
    assert project.get(6).name == "nucleus" and not cmap.unmatched and cmap.pairs == {0: 0, 1: 6}
    assert cmap.apply_label_map(np.array([[0, 1]], np.uint8)).tolist() == [[0, 6]]


def test_fit_warning_says_what_does_not_fit():
    text = fit_warning("nuclei-semantic", "semantic", nuclei_classes(), "semantic", aerial_classes())
    assert text == ("None of nuclei-semantic's classes (nucleus) is in this project; its output would be "
                    "ignored.")
    three = ClassList.from_names(["background", "building", "cat", "dog", "boat"])
    text = fit_warning("pets", "semantic", three, "semantic", aerial_classes())
    assert text.startswith("3 of the model's classes are not in the project (cat, dog, boat): add them")
    text = fit_warning("nuclei-instance", "instance", nuclei_classes(), "semantic", nuclei_classes())
    assert "is an instance model and this project is semantic" in text and "higher scores on top" in text
    assert fit_warning("aerial-landcover", "semantic", aerial_classes(), "semantic", permuted_aerial()) == ""


def test_aerial_model_lands_in_the_right_classes_when_the_project_lists_them_in_another_order(
        real_models, aerial_dir, tmp_path):
    predictor = real_models("aerial-landcover")
    paths = [aerial_dir / "images" / n for n in AERIAL_IMAGES]
    original = project_of(tmp_path / "orig", paths, aerial_classes(), "semantic")
    permuted = project_of(tmp_path / "perm", paths, permuted_aerial(), "semantic")
    lut = np.zeros(256, np.uint8)
    for c in aerial_classes():  # model id -> permuted project id, by (normalised) name
        lut[c.id] = next(p.id for p in permuted.classes if p.name.strip().lower() == c.name)
    for name in AERIAL_IMAGES:
        result = predictor.predict(original.image(name))
        truth = np.asarray(Image.open(aerial_dir / "masks" / name.replace(".jpg", ".png")))
        scores = {}
        for project, truth_map in ((original, truth), (permuted, lut[truth])):
            ann = project.annotation(name)
            ann.corrected = Layer(label_map=truth_map.copy())
            fitted, added = for_project(result, project)
            assert added == []
            store_prediction(ann, fitted, predictor.spec.name, False, 0.5)
            live = LiveIoU(ann, project.classes)
            assert live.ready and live.kind == "class"
            scores[project is permuted] = ({r.label.strip().lower(): r.iou for r in live.rows()}, live.mean_iou)
        pred = permuted.annotation(name).prediction.label_map
        assert np.array_equal(original.annotation(name).prediction.label_map, result.label_map)
        assert np.array_equal(pred, lut[result.label_map])
        assert not np.array_equal(pred, result.label_map), "by number it would differ"
        assert len(np.unique(result.label_map)) >= 3, "a real aerial tile has several classes"
        per_class, mean = scores[False]
        assert scores[True][1] == pytest.approx(mean) and mean > 0.3  # the real model is good at this
        assert scores[True][0] == pytest.approx(per_class, nan_ok=True)


def _nuclei_project(tmp_path, nuclei_val, classes, n=2):
    images, _ = nuclei_pick(nuclei_val, n)
    paths = [nuclei_val.parent / "images" / i["file_name"] for i in images]
    project_of(tmp_path / "proj", paths, classes, "semantic").close()
    return tmp_path / "proj", [p.name for p in paths]


def test_cli_predict_into_an_aerial_project_warns_and_ignores_nuclei(real_models, nuclei_val, tmp_path, capsys):
    folder, names = _nuclei_project(tmp_path, nuclei_val, aerial_classes())
    predictor = real_models("nuclei-semantic")
    raw = {n: predictor.predict(Project.open(folder, read_only=True).image(n)).label_map for n in names}
    assert all((m == 1).sum() > 100 for m in raw.values()), "the nuclei model finds nuclei on nuclei images"
    assert run(["predict", "--model", "nuclei-semantic", "--project", str(folder)]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning")]
    assert err == ["warning: nuclei-semantic: 1 model classes are not in the project and were ignored (nucleus); "
                   "pass --unknown-classes add to add them."]
    project = Project.open(folder, read_only=True)
    assert project.classes == aerial_classes()  # nothing added
    for n in names:  # nuclei are not labelled "building" (id 1): ignored, so all 0
        pred = project.annotation(n).prediction.label_map
        assert pred.shape == raw[n].shape and not pred.any()


def test_cli_predict_can_add_the_unknown_classes(real_models, nuclei_val, tmp_path, capsys):
    folder, names = _nuclei_project(tmp_path, nuclei_val, aerial_classes())
    predictor = real_models("nuclei-semantic")
    assert run(["predict", "--model", "nuclei-semantic", "--project", str(folder), names[0],
                "--unknown-classes", "add"]) == 0
    assert "added 1 model classes to the project: nucleus" in capsys.readouterr().err
    project = Project.open(folder, read_only=True)
    model_colour = predictor.classes.by_name("nucleus").color  # the checkpoint's own colour
    assert project.classes.get(6).name == "nucleus" and project.classes.get(6).color == model_colour
    raw = predictor.predict(project.image(names[0])).label_map
    assert np.array_equal(project.annotation(names[0]).prediction.label_map, np.where(raw == 1, 6, 0))
    assert project.annotation(names[1]).prediction is None  # only the image named


def test_cli_predict_into_a_folder_that_is_not_a_project_says_what_to_do(real_models, tmp_path, capsys):
    (tmp_path / "plain").mkdir()
    assert run(["predict", "--model", "nuclei-semantic", "--project", str(tmp_path / "plain")]) != 0
    err = capsys.readouterr().err
    assert "is not a Maskwork project yet" in err and len(err.strip().splitlines()) == 1


def test_evaluate_matches_dataset_categories_by_name_and_prints_the_mapping(real_models, nuclei_val, tmp_path,
                                                                             capsys):
    real_models("nuclei-instance")
    doc = json.loads(nuclei_val.read_text())
    keep = sorted(im["id"] for im in doc["images"])[:3]
    doc["images"] = [im for im in doc["images"] if im["id"] in keep]
    doc["annotations"] = [a for a in doc["annotations"] if a["image_id"] in keep]
    (tmp_path / "orig").mkdir()
    (tmp_path / "orig" / "images").symlink_to(nuclei_val.parent / "images")
    (tmp_path / "orig" / "val.json").write_text(json.dumps(doc))
    # the same labels, but "Nucleus" is the dataset's 2nd category: by number the model would score "cell"
    doc["categories"] = [{"id": 1, "name": "cell"}, {"id": 7, "name": "Nucleus"}]
    doc["annotations"] = [{**a, "category_id": 7} for a in doc["annotations"]]
    (tmp_path / "renamed").mkdir()
    (tmp_path / "renamed" / "images").symlink_to(nuclei_val.parent / "images")
    (tmp_path / "renamed" / "val.json").write_text(json.dumps(doc))
    aps = []
    for folder in ("orig", "renamed"):
        assert run(["evaluate", "--model", "nuclei-instance", "--data", str(tmp_path / folder / "val.json"),
                    "--device", "cpu", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        aps.append(out["summary"])
    assert out["mapping"] == ["model nucleus -> dataset Nucleus (id 2)"]
    assert aps[0]["ap"] > 0.2 and aps[1]["ap"] == pytest.approx(aps[0]["ap"])
    assert run(["evaluate", "--model", "nuclei-instance", "--data", str(tmp_path / "renamed" / "val.json"),
                "--device", "cpu"]) == 0
    assert "  classes: model nucleus -> dataset Nucleus (id 2)" in capsys.readouterr().out.splitlines()


def test_evaluate_says_how_many_model_classes_the_dataset_lacks():
    coco_like = ClassList.from_names(["background", "person", "bicycle", "car"])
    data = ClassList.from_names(["background", "person"])
    assert ClassMap(coco_like, data).mapping_lines() == [
        "model person -> dataset person (id 1)", "2 model classes not in the dataset, ignored: bicycle, car"]
