"""Self-describing ONNX exports and their ONNX Runtime int8 twins, on the bundled aerial model and real
aerial images (tests/conftest.py `aerial_dir`); the seed's int8 YOLO file when it is present."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.domain.errors import Cancelled, ModelError
from maskwork.core.domain.progress import CancelToken
from maskwork.core.models.catalog.registry import get_model
from maskwork.core.models.int8.onnx_quant import int8_onnx
from maskwork.core.models.int8.onnx_quant_report import OnnxSemantic, compare_onnx
from maskwork.core.models.int8.precision import is_int8, pair_key
from maskwork.core.models.onnx_models.onnx_meta import (
    KEYS,
    classes_from_metadata,
    metadata_for,
    parse_metadata,
    policy_from_metadata,
    raw_metadata,
    read_maskwork_metadata,
)
from maskwork.core.models.torch_models.export import export_onnx

SEED_YOLO = Path(__file__).resolve().parents[3] / "shared" / "models" / "yolo11n-seg-quantized.onnx"
CROP = 384  # the aerial model halves images first (scale 0.5): 192 px model inputs keep int8 tests short


def _images(aerial_dir: Path) -> list[Path]:
    return sorted((aerial_dir / "images").glob("*.jpg"))


def _rgb(path: Path) -> np.ndarray:
    from maskwork.core.store.images import read_image

    return read_image(path)


@pytest.fixture(scope="module")
def aerial_onnx(aerial_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "aerial.onnx"
    export_onnx("aerial-landcover", out, images=[_images(aerial_dir)[0]])
    return out


@pytest.fixture(scope="module")
def crops(aerial_dir) -> list[np.ndarray]:
    """Centre crops of 6 real images from different tiles (4 calibrate, 2 check)."""
    paths = _images(aerial_dir)
    out = []
    for p in paths[:: max(1, len(paths) // 6)][:6]:
        rgb = _rgb(p)
        y, x = (rgb.shape[0] - CROP) // 2, (rgb.shape[1] - CROP) // 2
        out.append(np.ascontiguousarray(rgb[y : y + CROP, x : x + CROP]))
    return out


@pytest.fixture(scope="module")
def twin(aerial_onnx, crops, tmp_path_factory):
    return int8_onnx(aerial_onnx, crops[:4], num_images=4, cache_dir=tmp_path_factory.mktemp("int8"))


def test_export_writes_maskwork_metadata_that_reopens_the_model(aerial_onnx):
    spec = get_model("aerial-landcover")
    raw = raw_metadata(aerial_onnx)
    assert sorted(k for k in raw if k.startswith("maskwork.")) == sorted(KEYS)
    assert raw["maskwork.format_version"] == "1" and raw["maskwork.task"] == "semantic"
    meta = read_maskwork_metadata(aerial_onnx)
    assert meta["model"] == "aerial-landcover"
    assert meta["classes"] == spec.classes.to_list() == json.loads(raw["maskwork.classes"])
    assert [c.name for c in classes_from_metadata(meta)] == [c.name for c in spec.classes]
    assert set(json.loads(raw["maskwork.input"])) == {"mode", "min_size", "max_size", "resize", "tile", "overlap",
                                                      "scale", "mean", "std", "detections_per_img"}
    assert policy_from_metadata(meta) == spec.input  # tile 512, overlap 64, scale 0.5 from the checkpoint
    assert spec.input.scale == 0.5


def test_instance_policy_round_trips_through_metadata():
    spec = get_model("nuclei-instance")
    meta = parse_metadata(metadata_for(spec))
    assert meta["task"] == "instance" and policy_from_metadata(meta) == spec.input


def test_exported_aerial_model_gives_torch_labels_on_real_images(aerial_onnx, aerial_dir):
    from maskwork.core.models.predict import Predictor

    torch_model = Predictor("aerial-landcover", device="cpu")
    onnx_model = OnnxSemantic(aerial_onnx)
    paths = _images(aerial_dir)
    for p in (paths[0], paths[len(paths) // 2], paths[-1]):  # tiles 1, 4 and 7 (held out in training)
        rgb = _rgb(p)
        ref, got = torch_model.predict(rgb), onnx_model.predict(rgb)
        assert got.label_map.shape == rgb.shape[:2]
        assert (ref.label_map == got.label_map).mean() >= 0.999, p.name
        assert len(np.unique(ref.label_map)) >= 2  # a real scene, not a one-class image


def test_missing_or_broken_metadata(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 4, 4])
    model = helper.make_model(helper.make_graph([helper.make_node("Identity", ["image"], ["out"])], "g", [x], [y]))
    plain = tmp_path / "plain.onnx"
    onnx.save(model, str(plain))
    assert read_maskwork_metadata(plain) is None and not is_int8(plain)
    entry = model.metadata_props.add()
    entry.key, entry.value = "maskwork.task", "semantic"
    onnx.save(model, str(tmp_path / "half.onnx"))
    with pytest.raises(ModelError, match="without maskwork.format_version"):
        read_maskwork_metadata(tmp_path / "half.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(plain.read_bytes()[:40])
    with pytest.raises(ModelError, match="not a readable ONNX"):
        read_maskwork_metadata(broken)
    with pytest.raises(ModelError, match="no Maskwork metadata"):
        int8_onnx(plain, [np.zeros((8, 8, 3), np.uint8)], num_images=1, cache_dir=tmp_path / "c")


def test_int8_twin_agrees_with_float_is_smaller_and_describes_itself(aerial_onnx, twin, crops):
    assert not is_int8(aerial_onnx) and is_int8(twin.path)
    assert twin.path.stat().st_size < 0.5 * aerial_onnx.stat().st_size
    assert read_maskwork_metadata(twin.path) == read_maskwork_metadata(aerial_onnx)
    assert pair_key(twin.path, read_maskwork_metadata(twin.path)) == pair_key(aerial_onnx, read_maskwork_metadata(
        aerial_onnx)) == "aerial-landcover"
    f, q = OnnxSemantic(aerial_onnx), OnnxSemantic(twin.path)
    for rgb in crops[4:]:  # not used for calibration
        c = compare_onnx(f, q, rgb, warmup=False)
        assert c.extra["pixel_agreement"] >= 0.95
        assert c.size_ratio < 0.5 and c.task == "semantic"
        assert "speed-up" in c.summary() and c.to_dict()["int8"]["size_bytes"] == twin.path.stat().st_size


def test_int8_twin_is_cached_and_a_damaged_file_is_rebuilt(aerial_onnx, twin, crops):
    cache_dir = twin.path.parent
    again = int8_onnx(aerial_onnx, crops[:4], num_images=4, cache_dir=cache_dir)
    assert again.from_cache and again.path == twin.path and not twin.from_cache
    other = int8_onnx(aerial_onnx, crops[1:5], num_images=4, cache_dir=cache_dir)  # another calibration set
    assert other.path != twin.path and not other.from_cache
    other.path.write_bytes(other.path.read_bytes()[:1000])  # truncated write
    rebuilt = int8_onnx(aerial_onnx, crops[1:5], num_images=4, cache_dir=cache_dir)
    assert not rebuilt.from_cache and is_int8(rebuilt.path)


def test_cancel_during_calibration_writes_nothing(aerial_onnx, crops, tmp_path):
    token = CancelToken()

    def progress(done, total, message):
        if done >= 2:
            token.cancel()

    with pytest.raises(Cancelled):
        int8_onnx(aerial_onnx, crops[:4], num_images=4, cache_dir=tmp_path, progress=progress, cancel=token)
    assert list(tmp_path.iterdir()) == []


def test_quantizing_an_int8_file_again_is_refused(twin, tmp_path):
    with pytest.raises(ModelError, match="already int8"):
        int8_onnx(twin.path, [np.zeros((8, 8, 3), np.uint8)], num_images=1, cache_dir=tmp_path)


@pytest.mark.skipif(not SEED_YOLO.is_file(), reason=f"seed model not found at {SEED_YOLO}")
def test_seed_yolo_file_is_int8_and_pairs_by_name(tmp_path):
    assert is_int8(SEED_YOLO)
    with pytest.raises(ModelError, match="already int8"):
        int8_onnx(SEED_YOLO, [np.zeros((8, 8, 3), np.uint8)], num_images=1, cache_dir=tmp_path)
    raw = raw_metadata(SEED_YOLO)  # Ultralytics metadata, no maskwork.model: the file name decides
    assert raw["task"] == "segment" and read_maskwork_metadata(SEED_YOLO) is None
    assert pair_key(SEED_YOLO, raw) == pair_key("models/yolo11n-seg.onnx") == "yolo11n-seg"


def test_pair_key_rules():
    for name in ("net-int8.onnx", "net_int8.onnx", "Net.int8.onnx", "net-quantized.onnx", "net_qdq.onnx", "net.onnx"):
        assert pair_key(name) == "net", name
    assert pair_key("net-int8.onnx") != pair_key("net2-int8.onnx")
    assert pair_key("anything.onnx", {"maskwork.model": "aerial-landcover"}) == "aerial-landcover"
