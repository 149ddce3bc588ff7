"""int8 models: same outputs structure as float, accuracy kept on real images, cache, cancel, warnings."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from maskwork.core.domain.errors import Cancelled, InputError, ModelError
from maskwork.core.domain.progress import CancelToken
from maskwork.core.metrics import accumulate
from maskwork.core.models.catalog.registry import MODELS, get_model
from maskwork.core.models.compare import compare, instance_agreement
from maskwork.core.models.int8.quant.routes import route_for
from maskwork.core.models.int8.quantize import int8_model, state_dict_bytes
from maskwork.core.models.predict import Predictor
from maskwork.core.models.results import InstanceResult
from tests.unit.quant_fixtures import nuclei_crops, nuclei_semantic_model


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two cores shared by many processes: one intra-op thread avoids OpenMP spin contention."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def semantic(nuclei_val):
    return nuclei_semantic_model(nuclei_val)


@pytest.fixture(scope="module")
def calib(nuclei_val):
    return [rgb for rgb, _ in nuclei_crops(nuclei_val, 4, skip=8)]


@pytest.fixture(scope="module")
def held_out(nuclei_val):
    return nuclei_crops(nuclei_val, 6, skip=12)


@pytest.fixture(scope="module")
def semantic_int8(semantic, calib, tmp_path_factory):
    spec, model = semantic
    cache = tmp_path_factory.mktemp("int8")
    return int8_model(spec, model, calib, cache_dir=cache), cache


def test_every_registry_model_has_an_int8_route():
    missing = [s.name for s in MODELS.values() if route_for(s.arch) is None]
    assert not missing


def test_semantic_int8_has_float_outputs_and_is_smaller(semantic, semantic_int8, held_out):
    spec, model = semantic
    q, _ = semantic_int8
    x = Predictor(spec, model=model).prepare(held_out[0][0]).tensor[None]
    with torch.no_grad():
        f_out, q_out = model(x), q(x)
    assert isinstance(q_out, dict) and set(q_out) == set(f_out) == {"out"}
    assert q_out["out"].shape == f_out["out"].shape and q_out["out"].dtype == torch.float32
    assert any(p.dtype == torch.qint8 for p in q.state_dict().values() if isinstance(p, torch.Tensor))
    assert state_dict_bytes(q) < 0.5 * state_dict_bytes(model)


def test_semantic_int8_mean_iou_within_1_5_points_of_float(semantic, semantic_int8, held_out):
    spec, model = semantic
    q, _ = semantic_int8
    fp, qp = Predictor(spec, model=model), Predictor(spec, int8=True, model=q)
    f = accumulate([(lab, fp.predict(rgb).label_map) for rgb, lab in held_out], [0, 1])
    i = accumulate([(lab, qp.predict(rgb).label_map) for rgb, lab in held_out], [0, 1])
    assert f.mean_iou > 0.55, "the float model did not learn (all-background scores about 0.45)"
    assert abs(i.mean_iou - f.mean_iou) <= 0.015


def test_cache_round_trip_is_identical_and_does_not_recalibrate(semantic, semantic_int8, calib, held_out):
    spec, model = semantic
    q, cache = semantic_int8
    calls = []
    again = int8_model(spec, model, calib, cache_dir=cache, progress=lambda *a: calls.append(a))
    assert again.int8_info["from_cache"] and not q.int8_info["from_cache"]
    assert not calls, "a cache hit must not run calibration"
    x = Predictor(spec, model=model).prepare(held_out[1][0]).tensor[None]
    with torch.no_grad():
        assert torch.equal(q(x)["out"], again(x)["out"])


def test_other_calibration_images_or_damaged_cache_rebuild(semantic, semantic_int8, calib, tmp_path):
    spec, model = semantic
    q, cache = semantic_int8
    other = int8_model(spec, model, calib[:2], cache_dir=cache)
    assert not other.int8_info["from_cache"] and other.int8_info["cache_path"] != q.int8_info["cache_path"]
    path = tmp_path / "c"
    first = int8_model(spec, model, calib[:1], cache_dir=path)
    from pathlib import Path

    Path(first.int8_info["cache_path"]).write_bytes(b"not a torch file")
    rebuilt = int8_model(spec, model, calib[:1], cache_dir=path)
    assert not rebuilt.int8_info["from_cache"]
    assert int8_model(spec, model, calib[:1], cache_dir=path).int8_info["from_cache"]


def test_unwritable_cache_keeps_the_int8_model(semantic, calib, tmp_path):
    spec, model = semantic
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    q = int8_model(spec, model, calib[:1], cache_dir=blocker / "int8")
    assert "cannot write the int8 cache" in q.int8_info["cache_error"]
    x = torch.zeros(1, 3, 32, 32)
    with torch.no_grad():
        assert q(x)["out"].shape == (1, 2, 32, 32)


def test_cancel_during_calibration_raises_and_writes_nothing(semantic, calib, tmp_path):
    spec, model = semantic
    token = CancelToken()

    def progress(done, total, message=""):
        if done >= 1:
            token.cancel()

    with pytest.raises(Cancelled):
        int8_model(spec, model, calib, cache_dir=tmp_path, progress=progress, cancel=token)
    assert not list(tmp_path.rglob("*.pt"))


def test_no_quantization_warning_reaches_the_user(semantic, calib, held_out, tmp_path):
    spec, model = semantic
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q = int8_model(spec, model, calib[:2], cache_dir=tmp_path)
        cached = int8_model(spec, model, calib[:2], cache_dir=tmp_path)
        Predictor(spec, int8=True, model=cached).predict(held_out[0][0])
        Predictor(spec, int8=True, model=q).predict(held_out[0][0])
    assert cached.int8_info["from_cache"]


def test_bad_calibration_input_and_unknown_architecture_get_clear_errors(semantic, tmp_path):
    spec, model = semantic
    with pytest.raises(InputError, match="holds no images"):
        int8_model(spec, model, tmp_path, cache_dir=tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        int8_model(spec, model, tmp_path / "missing", cache_dir=tmp_path)
    from dataclasses import replace

    with pytest.raises(ModelError, match="no int8 route"):
        int8_model(replace(spec, arch="my_net"), model, cache_dir=tmp_path)


def test_compare_semantic_reports_latency_size_and_agreement(semantic, semantic_int8, held_out):
    spec, model = semantic
    q, _ = semantic_int8
    pair = (Predictor(spec, model=model), Predictor(spec, int8=True, model=q))
    c = compare(pair, held_out[2][0])
    assert c.task == "semantic" and set(c.per_class) == {0, 1}
    assert c.float_run.latency_ms > 0 and c.int8_run.latency_ms > 0
    assert c.size_ratio < 0.5
    assert c.mean_agreement > 0.9  # a trained model: int8 labels the same pixels
    assert "agreement" in c.summary()


def test_maskrcnn_int8_keeps_detector_outputs(nuclei_val, tmp_path):
    """Random weights (no trained detector here): structure and plumbing, on real nuclei crops."""
    spec = get_model("nuclei-instance").with_input(min_size=192, max_size=256)
    torch.manual_seed(0)
    from maskwork.core.models.catalog.weights import build_model

    model = build_model(spec).eval()
    crops = [rgb for rgb, _ in nuclei_crops(nuclei_val, 2, size=128)]
    q = int8_model(spec, model, crops, cache_dir=tmp_path)
    assert q.int8_info["route"] == "fx-backbone-and-heads"
    assert type(q) is type(model)  # still a MaskRCNN: the predictor runs it stage by stage
    x = torch.from_numpy(crops[0]).permute(2, 0, 1).float() / 255
    with torch.no_grad():
        f_out, q_out = model([x])[0], q([x])[0]
    assert set(q_out) == set(f_out) == {"boxes", "labels", "scores", "masks"}
    for k in f_out:
        assert q_out[k].dtype == f_out[k].dtype and q_out[k].shape[1:] == f_out[k].shape[1:]
    result = Predictor(spec, int8=True, model=q).predict(crops[1], score_threshold=0.0)
    assert isinstance(result, InstanceResult) and result.height == 128
    cached = int8_model(spec, model, crops, cache_dir=tmp_path)
    assert cached.int8_info["from_cache"]
    with torch.no_grad():
        again = cached([x])[0]
    assert torch.equal(again["scores"], q_out["scores"]) and torch.equal(again["boxes"], q_out["boxes"])


def test_instance_agreement_matches_masks_on_real_nuclei(nuclei_val):
    """Ground-truth nuclei as a 'float' result; int8 losing one instance lowers agreement by its share."""
    from scipy import ndimage

    from maskwork.core.domain.annotation import ClassList
    from maskwork.core.domain.masks import Mask

    rgb, label = nuclei_crops(nuclei_val, 1)[0]
    comps, n = ndimage.label(label)
    masks = [Mask.from_full(comps == i + 1) for i in range(n)]
    classes = get_model("nuclei-instance").classes

    def result(ms):
        k = len(ms)
        return InstanceResult(ms, np.zeros((k, 4), np.float32), np.ones(k, np.int64), np.ones(k, np.float32),
                              classes, *label.shape)

    per, mean, extra = instance_agreement(result(masks), result(masks))
    assert mean == pytest.approx(1.0) and len(per) == n
    per, mean, extra = instance_agreement(result(masks), result(masks[1:]))
    assert per[0] == 0.0 and mean == pytest.approx((n - 1) / n)
    assert isinstance(classes, ClassList)


def test_compare_by_name_builds_both_from_the_same_weights(model_env, calib, tmp_path):
    c = compare("nuclei-semantic", calib[0], calibration_images=calib[:2], cache_dir=tmp_path)
    assert c.int8_run.size_bytes < c.float_run.size_bytes
    assert c.float_run.result.label_map.shape == calib[0].shape[:2] == c.int8_run.result.label_map.shape
    assert 0.0 <= c.mean_agreement <= 1.0 and c.to_dict()["speedup"] > 0
