"""int8 of registered ONNX models: the twin built for a float export (`predict --int8`), float + int8 files
paired under one name, int8 files labelled and never quantized again (core.models.int8.dispatch by backend).

Real data: the bundled aerial model exported by export-model, real aerial images; the seed's int8 YOLO
file when it is present (test data only, never copied into the repository)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.domain.errors import ModelError

SEED_YOLO = Path(__file__).resolve().parents[3] / "shared" / "models" / "yolo11n-seg-quantized.onnx"


@pytest.fixture(scope="module")
def aerial_images(aerial_dir) -> list[Path]:
    paths = sorted((aerial_dir / "images").glob("*.jpg"))
    return [paths[0], paths[len(paths) // 2]]  # two tiles


@pytest.fixture(scope="module")
def exported(aerial_images, tmp_path_factory):
    """A float aerial export and, beside it, its int8 twin saved as `aerial-int8.onnx` (another file name)."""
    from maskwork.core.models.int8.onnx_quant import int8_onnx
    from maskwork.core.models.torch_models.export import export_onnx

    folder = tmp_path_factory.mktemp("files")
    float_file = folder / "aerial.onnx"
    export_onnx("aerial-landcover", float_file, images=[aerial_images[0]])
    twin = int8_onnx(float_file, aerial_images, num_images=2, cache_dir=tmp_path_factory.mktemp("twin"))
    int8_file = folder / "aerial-int8.onnx"
    shutil.copy(twin.path, int8_file)
    return float_file, int8_file


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("MASKWORK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def _main(argv) -> int:
    from maskwork.core.cli import run

    return run([str(a) for a in argv])


def _labels(folder: Path, name: str) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(folder / f"{Path(name).stem}.png"))


def test_predict_int8_builds_the_twin_on_the_given_images_and_agrees_with_float(env, exported, aerial_images,
                                                                               capsys):
    float_file, _ = exported
    assert _main(["models", "add", float_file, "--name", "aerial-onnx"]) == 0
    assert "ONNX maskwork-semantic, float, 6 classes" in capsys.readouterr().out
    assert _main(["predict", "--model", "aerial-onnx", *aerial_images, "--out", env / "float"]) == 0
    assert _main(["predict", "--model", "aerial-onnx", "--int8", *aerial_images, "--out", env / "int8"]) == 0
    twins = list((env / "cache" / "int8" / "onnx").glob("*.int8.onnx"))
    assert len(twins) == 1, "the int8 twin was built in the ONNX int8 cache"
    from maskwork.core.models.int8.precision import is_int8

    assert is_int8(twins[0]) and twins[0].stat().st_size < 0.5 * float_file.stat().st_size
    for image in aerial_images:
        f, q = _labels(env / "float", image.name), _labels(env / "int8", image.name)
        assert f.shape == q.shape and len(np.unique(f)) >= 2
        assert (f == q).mean() >= 0.95, image.name
    # the same images again: the twin comes from the cache, nothing new is written
    assert _main(["predict", "--model", "aerial-onnx", "--int8", *aerial_images, "--out", env / "again"]) == 0
    assert list((env / "cache" / "int8" / "onnx").glob("*.int8.onnx")) == twins


@pytest.mark.parametrize("first", ["float", "int8"])
def test_float_and_int8_files_pair_under_one_name(env, exported, capsys, first):
    from maskwork.core.models.catalog.registry import get_model
    from maskwork.core.models.int8.dispatch import label, load, support

    float_file, int8_file = exported
    files = [float_file, int8_file] if first == "float" else [int8_file, float_file]
    assert _main(["models", "add", files[0]]) == 0
    assert _main(["models", "add", files[1]]) == 0  # no --name: pairs by maskwork.model
    entries = json.loads((env / "config" / "models.json").read_text())["models"]
    assert len(entries) == 1 and entries[0]["name"] == files[0].stem
    name = files[0].stem
    assert "float + int8" in capsys.readouterr().out
    _main(["models"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(name + " ")]
    assert len(rows) == 1 and "onnx (float + int8)" in rows[0]
    spec = get_model(name)
    assert (spec.source.path, spec.source.int8_path) == (str(float_file), str(int8_file))
    assert support(spec).mode == "paired" and label(spec) == "float + int8"
    # the toggle switches files; nothing is calibrated (no cache written)
    f, q = load(name, False), load(name, True)
    assert f.spec.source.path == str(float_file) and not f.int8
    assert q.spec.source.path == str(int8_file) and q.int8 and q.int8_info["paired"]
    assert not (env / "cache" / "int8").exists()


def test_an_int8_file_alone_is_int8_only_and_quantize_refuses_it(env, exported, capsys):
    from maskwork.core.models.int8.dispatch import load, support

    _, int8_file = exported
    assert _main(["models", "add", int8_file, "--name", "aerial-q"]) == 0
    assert "ONNX maskwork-semantic, int8, 6 classes" in capsys.readouterr().out
    s = support("aerial-q")
    assert s.mode == "only" and not s.switchable and "already an int8 file" in s.reason
    assert load("aerial-q", False).int8  # labelled int8 whichever way it is asked for
    assert _main(["quantize", "--model", "aerial-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the loading progress line
    assert err.startswith("maskwork quantize: error: aerial-q is already int8") and err.endswith("quantize that.")
    assert err.count(". ") == 0  # one sentence
    assert not (env / "cache" / "int8").exists()


def test_compare_takes_onnx_models(env, exported, aerial_images):
    """compare(): the same latency / size / agreement report for a float ONNX model and its int8 twin."""
    from maskwork.core.models.compare import compare
    from maskwork.core.models.onnx_models.register import register_onnx
    from maskwork.core.store.images import read_image

    float_file, _ = exported
    register_onnx(float_file, name="aerial-onnx")
    c = compare("aerial-onnx", read_image(aerial_images[1]), calibration_images=aerial_images)
    assert c.task == "semantic" and c.float_run.size_bytes == float_file.stat().st_size
    assert c.size_ratio < 0.5 and c.float_run.latency_ms > 0 and c.int8_run.latency_ms > 0
    assert c.mean_agreement >= 0.8 and "agreement" in c.summary()


@pytest.mark.skipif(not SEED_YOLO.is_file(), reason=f"seed model not found at {SEED_YOLO}")
def test_seed_yolo_is_int8_only_and_quantize_refuses_it(env, capsys):
    from maskwork.core.models.int8.dispatch import support

    assert _main(["models", "add", SEED_YOLO, "--name", "yolo-seed"]) == 0
    assert support("yolo-seed").mode == "only"
    capsys.readouterr()
    _main(["models"])
    assert any(line.startswith("yolo-seed ") and "onnx (int8)" in line
               for line in capsys.readouterr().out.splitlines())
    assert _main(["quantize", "--model", "yolo-seed"]) == 2
    assert "yolo-seed is already int8 (yolo11n-seg-quantized.onnx" in capsys.readouterr().err


def test_pairing_refuses_files_whose_classes_differ(env, exported, tmp_path):
    """Same pair key, other classes: not one model, so the second file is refused in one sentence."""
    import onnx

    from maskwork.core.models.onnx_models.onnx_meta import set_metadata
    from maskwork.core.models.onnx_models.register import register_onnx

    float_file, int8_file = exported
    register_onnx(float_file)
    m = onnx.load(str(int8_file))
    meta = {p.key: p.value for p in m.metadata_props}
    classes = json.loads(meta["maskwork.classes"])
    classes[1]["name"] = "roof"
    set_metadata(m, {"maskwork.classes": json.dumps(classes)})
    other = tmp_path / "aerial-int8.onnx"
    onnx.save(m, str(other))
    with pytest.raises(ModelError, match="pairs with aerial by name, but its task or classes differ"):
        register_onnx(other)


def test_generic_semantic_net_gets_its_twin_fed_as_registered(env, exported, aerial_images, tmp_path):
    """The aerial export without Maskwork metadata is a generic semantic net: registered with its classes and
    preprocessing (sidecar), its int8 twin is calibrated through the registered feed and agrees with float."""
    import onnx

    from maskwork.core.models.int8.dispatch import load
    from maskwork.core.models.onnx_models.onnx_meta import read_maskwork_metadata
    from maskwork.core.models.onnx_models.register import register_onnx
    from maskwork.core.store.images import read_image

    float_file, _ = exported
    meta = read_maskwork_metadata(float_file)
    m = onnx.load(str(float_file))
    del m.metadata_props[:]
    plain = tmp_path / "landcover.onnx"
    onnx.save(m, str(plain))
    policy = {k: meta["input"][k] for k in ("mode", "tile", "overlap", "scale", "mean", "std")}
    plain.with_suffix(".json").write_text(json.dumps({"classes": [c["name"] for c in meta["classes"]],
                                                      "input": policy}))
    spec = register_onnx(plain)
    assert spec.source.layout.kind == "semantic" and spec.input.scale == 0.5
    f = load("landcover", False)
    q = load("landcover", True, calibration=aerial_images)
    assert q.int8 and q.int8_info["calibration_images"] == 2 and not q.int8_info["from_cache"]
    rgb = read_image(aerial_images[1])
    a, b = f.predict(rgb).label_map, q.predict(rgb).label_map
    assert len(np.unique(a)) >= 2 and (a == b).mean() >= 0.95
