"""The model table: declarations, class lists against the real datasets, checkpoints that describe
themselves, and the user's registered models."""
from __future__ import annotations

import json

import pytest
import torch

from maskwork.core.domain.errors import InputError, ModelError
from maskwork.core.models.catalog.classlists import voc_color
from maskwork.core.models.catalog.registry import (
    MODELS,
    BundledFile,
    InputPolicy,
    TorchvisionWeights,
    all_models,
    get_model,
    model_names,
)
from maskwork.core.models.catalog.user_models import models_file, register_checkpoint, unregister
from maskwork.core.models.catalog.weights import build_model
from maskwork.core.models.torch_models.architectures import ARCHITECTURES
from maskwork.core.models.torch_models.checkpoint import save_checkpoint

REQUIRED = ["maskrcnn_resnet50_fpn", "maskrcnn_resnet50_fpn_v2", "deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large",
            "lraspp_mobilenet_v3_large", "fcn_resnet50", "nuclei-instance", "nuclei-semantic", "aerial-landcover"]


def test_every_required_entry_is_declared_consistently():
    assert set(REQUIRED) <= set(MODELS)
    for spec in MODELS.values():
        assert spec.arch in ARCHITECTURES, spec.name
        assert ARCHITECTURES[spec.arch].task == spec.task, spec.name
        assert len(set(spec.classes.names())) == len(spec.classes)
        assert (spec.input.mode == "rcnn") == (spec.task == "instance"), spec.name


def test_torchvision_entries_match_the_weights_enum_categories():
    from torchvision.models import get_weight

    for spec in MODELS.values():
        if isinstance(spec.source, TorchvisionWeights):
            cats = get_weight(spec.source.weights).meta["categories"]
            assert spec.num_classes == len(cats)
            for c in spec.classes:
                assert cats[c.id] == ("__background__" if c.name == "background" else c.name)
            assert sum(1 for n in cats if n == "N/A") == len(cats) - len(spec.classes)


def test_coco_class_ids_are_the_real_coco_category_ids(coco_sample_val):
    cats = json.loads(coco_sample_val.read_text())["categories"]
    classes = MODELS["maskrcnn_resnet50_fpn"].classes
    assert len(cats) == len(classes) - 1 == 80
    for cat in cats:
        assert classes.get(cat["id"]).name == cat["name"]


def test_voc_models_have_21_classes_with_the_voc_palette():
    classes = MODELS["deeplabv3_resnet50"].classes
    assert classes.names()[:3] == ["background", "aeroplane", "bicycle"] and len(classes) == 21
    assert classes.get(15).name == "person"
    assert [voc_color(i) for i in (0, 1, 2, 15)] == ["#000000", "#800000", "#008000", "#C08080"]
    assert classes.get(1).color == "#800000"


def test_aerial_classes_are_those_of_the_dataset(aerial_dir):
    truth = json.loads((aerial_dir / "classes.json").read_text())
    assert MODELS["aerial-landcover"].classes.to_list() == [
        {"id": c["id"], "name": c["name"], "color": c["color"].upper()} for c in truth]
    assert MODELS["aerial-landcover"].classes.get(0).name == "unlabeled"


def test_nuclei_models_have_background_and_nucleus(nuclei_val):
    names = [c["name"] for c in json.loads(nuclei_val.read_text())["categories"]]
    for name in ("nuclei-instance", "nuclei-semantic"):
        assert MODELS[name].classes.names() == ["background", *names]


def test_input_policy_takes_the_checkpoint_input():
    tile = InputPolicy("resize").updated({"tile": 256, "scale": 0.5, "unknown": 1})
    assert (tile.mode, tile.tile, tile.overlap, tile.scale) == ("tile", 256, 32, 0.5)
    rcnn = InputPolicy("rcnn").updated({"min_size": 400, "max_size": 700})
    assert (rcnn.mode, rcnn.min_size, rcnn.max_size) == ("rcnn", 400, 700)
    with pytest.raises(ModelError, match="overlap"):
        InputPolicy("tile").updated({"tile": 64, "overlap": 64})


def test_bundled_spec_is_described_by_its_checkpoint(model_env, tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_MODELS_DIR", str(tmp_path / "models"))
    declared = get_model("nuclei-semantic")
    assert declared.source == BundledFile("nuclei-semantic.pt")
    other = get_model("aerial-landcover")
    classes = other.classes
    save_checkpoint(tmp_path / "models" / "nuclei-semantic.pt", arch="lraspp_mobilenet_v3_large", task="semantic",
                    classes=classes, state_dict={"w": torch.zeros(1)}, input_spec={"tile": 384, "overlap": 48})
    spec = get_model("nuclei-semantic")
    assert (spec.arch, spec.classes, spec.input.tile, spec.input.overlap) == ("lraspp_mobilenet_v3_large", classes,
                                                                               384, 48)
    assert spec.arch != declared.arch


def test_unknown_model_name_suggests_the_closest(model_env):
    with pytest.raises(ModelError, match="Did you mean 'fcn_resnet50'"):
        get_model("fcn_resnet5")


def _semantic_checkpoint(path, classes_n=3):
    spec = get_model("nuclei-semantic")
    from maskwork.core.domain.annotation import ClassList

    classes = ClassList.from_names(["background", "cell", "debris"][:classes_n])
    model = ARCHITECTURES[spec.arch].build(classes_n)
    save_checkpoint(path, arch=spec.arch, task="semantic", classes=classes, state_dict=model.state_dict(),
                    input_spec={"tile": 128})
    return classes


def test_registered_maskwork_checkpoint_is_listed_and_persisted(model_env, tmp_path):
    classes = _semantic_checkpoint(tmp_path / "cells.pt")
    spec = register_checkpoint(tmp_path / "cells.pt")
    assert (spec.name, spec.classes, spec.input.tile) == ("cells", classes, 128)
    assert models_file().parent == model_env
    saved = json.loads(models_file().read_text())["models"]
    assert [e["name"] for e in saved] == ["cells"]
    assert "cells" in model_names() and get_model("cells").classes == classes
    assert [s.name for s in all_models()][-1] == "cells"
    register_checkpoint(tmp_path / "cells.pt")  # again: replaced, not duplicated
    assert model_names().count("cells") == 1
    unregister("cells")
    assert "cells" not in model_names()


def test_plain_state_dict_needs_an_architecture(model_env, tmp_path):
    spec = MODELS["lraspp_mobilenet_v3_large"]
    torch.save(build_model(spec).state_dict(), tmp_path / "plain.pth")
    with pytest.raises(InputError, match="architecture"):
        register_checkpoint(tmp_path / "plain.pth")
    registered = register_checkpoint(tmp_path / "plain.pth", arch="lraspp_mobilenet_v3_large", name="street")
    assert len(registered.classes) == 21 and registered.classes.get(3).name == "class 3"
    assert (registered.input.mode, registered.input.resize) == ("resize", 520)  # fed as torchvision does
    named = register_checkpoint(tmp_path / "plain.pth", arch="lraspp_mobilenet_v3_large", name="street",
                                classes=[f"c{i}" for i in range(1, 21)])
    assert named.classes.names()[:2] == ["background", "c1"]


def test_builtin_names_cannot_be_taken(model_env, tmp_path):
    _semantic_checkpoint(tmp_path / "fcn_resnet50.pt")
    with pytest.raises(InputError, match="built-in"):
        register_checkpoint(tmp_path / "fcn_resnet50.pt")


def test_damaged_model_list_is_reported_and_kept(model_env, tmp_path):
    model_env.mkdir(parents=True)
    (model_env / "models.json").write_text("{not json")
    with pytest.raises(ModelError, match="models.json is damaged"):
        model_names()
    _semantic_checkpoint(tmp_path / "cells.pt")
    with pytest.raises(ModelError):
        register_checkpoint(tmp_path / "cells.pt")
    assert (model_env / "models.json").read_text() == "{not json"  # the user's list is not overwritten
