"""Inference on real images with every registry model (test-filled random weights): result types,
shapes at the original resolution, thresholds without a new pass, tiling, inputs of any kind, batches."""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch
from PIL import Image

from maskwork.core.domain.errors import Cancelled, InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.domain.progress import CancelToken
from maskwork.core.models.batch import predict_batch
from maskwork.core.models.catalog.registry import MODELS, InputPolicy, get_model
from maskwork.core.models.predict import Predictor
from maskwork.core.models.results import InstanceResult, SemanticResult
from maskwork.core.models.torch_models import semantic as S
from maskwork.core.models.torch_models.instance import SCORE_FLOOR, paste_in_box
from maskwork.core.models.torch_models.preprocess import prepare
from tests.unit.model_fixtures import crop, real_image

IMAGE_OF = {"maskrcnn_resnet50_fpn": "coco", "maskrcnn_resnet50_fpn_v2": "coco", "nuclei-instance": "nuclei",
            "nuclei-semantic": "nuclei", "aerial-landcover": "aerial"}
# Plumbing is what is tested: run the ResNet50 models at a small input size to stay fast.
SMALL = {"rcnn": {"min_size": 192, "max_size": 320, "detections_per_img": 30}, "resize": {"resize": 160}, "tile": {}}
_PREDICTORS: dict = {}


def predictor(name: str) -> Predictor:
    if name not in _PREDICTORS:
        spec = get_model(name)
        small = name in MODELS and "-" not in name  # torchvision entries; bundled ones are small already
        p = Predictor(spec.with_input(**SMALL[spec.input.mode]) if small else spec, device="cpu")
        if p.task == "instance":  # fewer proposals: the box head's cost is per proposal
            p.model.rpn._post_nms_top_n["testing"] = 200
        _PREDICTORS[name] = p
    return _PREDICTORS[name]


@pytest.fixture(scope="module")
def images(datasets):
    """Odd-sized crops of real images; Maskwork's own models run unresized, so theirs are smaller."""
    return {"coco": crop(real_image(datasets, "coco")), "nuclei": crop(real_image(datasets, "nuclei"), 203, 317),
            "aerial": crop(real_image(datasets, "aerial"), 203, 317)}


def check_instance(result, h, w, classes):
    assert isinstance(result, InstanceResult) and (result.height, result.width) == (h, w)
    n = len(result)
    assert result.boxes.shape == (n, 4) and result.boxes.dtype == np.float32
    assert result.scores.dtype == np.float32 and result.class_ids.shape == (n,)
    assert np.all(np.diff(result.scores) <= 0) and np.all(result.scores >= SCORE_FLOOR)
    assert all(int(c) in classes and c != 0 for c in result.class_ids)
    for mask, (x, y, bw, bh) in zip(result.masks, result.boxes):
        assert isinstance(mask, Mask) and mask.shape == (h, w) and mask.area > 0
        assert 0 <= mask.x0 and mask.x1 <= w and 0 <= mask.y0 and mask.y1 <= h
        # the mask lies in its box, give or take torchvision's one-cell paste margin
        pad = 2 + max(bw, bh) / 14
        assert mask.x0 >= x - pad and mask.x1 <= x + bw + pad and mask.y0 >= y - pad and mask.y1 <= y + bh + pad


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_predicts_at_the_original_resolution(model_env, images, name):
    p = predictor(name)
    image = images[IMAGE_OF.get(name, "coco")]
    h, w = image.shape[:2]
    assert h % 2 == 1 and w % 2 == 1
    result = p.predict(image, score_threshold=0.5)
    if p.task == "instance":
        check_instance(result, h, w, p.classes)
        assert len(result) > 0  # the test weights favour some classes, so there are detections
        assert all(i.score >= 0.5 for i in result.filtered())
    else:
        assert isinstance(result, SemanticResult)
        assert result.label_map.shape == (h, w) and result.label_map.dtype == np.uint8
        assert result.confidence.shape == (h, w) and result.confidence.dtype == np.float32
        assert set(np.unique(result.label_map)) <= set(p.classes.ids())
        assert result.confidence.min() >= 1.0 / len(p.classes) - 1e-4 and result.confidence.max() <= 1.0 + 1e-6
        assert result.to_layer().label_map.shape == (h, w)
        if p.spec.input.mode == "tile":  # the checkpoint's tile size, smaller than the image: really tiled
            assert p.spec.input.tile < max(h, w)
    assert result.latency_ms > 0


def test_threshold_changes_need_no_new_forward_pass(model_env, images):
    p = predictor("maskrcnn_resnet50_fpn")
    calls = []
    hook = p.model.backbone.register_forward_hook(lambda *a: calls.append(1))
    try:
        result = p.predict(images["coco"], score_threshold=0.5)
        assert len(calls) == 1
        assert len(np.unique(result.scores.round(3))) > 1
        previous = None
        for t in sorted([0.05, 0.3, float(np.median(result.scores)), 0.9, 1.01]):
            kept = result.filtered(t)
            assert [i.score for i in kept] == [float(s) for s in result.scores if s >= t]
            assert previous is None or len(kept) <= previous
            previous = len(kept)
        assert len(result.filtered(float(np.median(result.scores)))) < len(result.filtered(0.05))
        assert len(calls) == 1
    finally:
        hook.remove()


def test_crop_paste_equals_torchvision_full_paste():
    from torchvision.models.detection.roi_heads import paste_masks_in_image

    g = torch.Generator().manual_seed(0)
    h, w = 97, 131
    soft = torch.rand((12, 1, 28, 28), generator=g)
    xy = torch.rand((12, 2), generator=g) * torch.tensor([w + 20.0, h + 20.0]) - 10
    wh = torch.rand((12, 2), generator=g) * 60 + 0.5
    boxes = torch.cat([xy, xy + wh], 1)
    full = paste_masks_in_image(soft, boxes, (h, w), padding=1)[:, 0] > 0.5
    for m, b, f in zip(soft, boxes, full):
        assert np.array_equal(paste_in_box(m[0], b, h, w, 0.5).to_full(), f.numpy())


def test_banded_resize_equals_whole_interpolation(monkeypatch):
    logits = torch.randn(4, 23, 31)
    monkeypatch.setattr(S, "BAND_BYTES", 4 * 4 * 57 * 3)  # 3 rows per band
    labels, conf = S.to_label_map(logits, 45, 57)
    ref = torch.nn.functional.interpolate(logits[None], size=(45, 57), mode="bilinear", align_corners=False)[0]
    prob, idx = ref.softmax(0).max(0)
    assert np.array_equal(labels, idx.numpy().astype(np.uint8))
    assert np.allclose(conf, prob.numpy(), atol=1e-5)


def test_tiles_cover_every_pixel_once():
    for length, tile, overlap in [(100, 100, 10), (101, 32, 8), (517, 128, 32), (333, 160, 32)]:
        starts = S.tile_starts(length, tile, overlap)
        owned = np.zeros(length, int)
        for s, (a, b) in zip(starts, S._cuts(starts, tile, length)):
            assert s <= a < b <= s + tile
            owned[a:b] += 1
        assert np.all(owned == 1) and starts[-1] + tile == length


def test_tiled_result_equals_whole_image_for_a_pointwise_model():
    model = torch.nn.Conv2d(3, 5, 1)
    x = torch.randn(3, 333, 517)
    policy = InputPolicy("tile", tile=128, overlap=32)
    with torch.inference_mode():
        assert torch.allclose(S.tiled_logits(model, x, policy), model(x[None])[0], atol=1e-6)


def test_small_images_run_in_one_pass_big_ones_in_tiles():
    calls = []
    model = torch.nn.Conv2d(3, 2, 1)
    model.register_forward_hook(lambda _m, inp, _o: calls.append(tuple(inp[0].shape[-2:])))
    policy = InputPolicy("tile", tile=128, overlap=32)
    with torch.inference_mode():
        S.tiled_logits(model, torch.randn(3, 200, 300), policy)  # 60,000 px <= 4 tiles: whole
        assert calls == [(200, 300)]
        calls.clear()
        S.tiled_logits(model, torch.randn(3, 333, 517), policy)  # bigger: 128-px windows
        assert len(calls) > 4 and set(calls) == {(128, 128)}


def test_gray_rgba_and_16bit_inputs(model_env, images, tmp_path):
    p = predictor("nuclei-semantic")
    rgb = images["nuclei"][:61, :97]
    gray = rgb[:, :, 0]
    rgba = np.dstack([rgb, np.full(gray.shape, 128, np.uint8)])
    deep = gray.astype(np.uint16) * 16  # 12-bit data in a 16-bit container
    base = p.predict(np.dstack([gray] * 3))
    for variant in (gray, gray[:, :, None], deep, deep.astype(np.float32) / 4095.0):
        r = p.predict(variant)
        assert r.label_map.shape == gray.shape
        assert np.mean(r.label_map == base.label_map) > 0.99
    assert np.array_equal(p.predict(rgba).label_map, p.predict(rgb).label_map)
    with pytest.raises(InputError, match="expected an image"):
        p.predict(np.zeros((4, 5, 2), np.uint8))
    Image.fromarray(deep).save(tmp_path / "deep16.png")  # via the file reader too
    [(path, r)] = list(predict_batch(p, [tmp_path / "deep16.png"]))
    assert r.label_map.shape == gray.shape


def _image_files(datasets, tmp_path, n):
    files = []
    for i, kind in enumerate(["nuclei", "aerial", "coco", "nuclei", "aerial"][:n]):
        path = tmp_path / f"img{i}_{kind}.png"
        Image.fromarray(crop(real_image(datasets, kind), 120 + 7 * i, 150 + 11 * i)).save(path)
        files.append(path)
    return files


def test_batch_keeps_order_and_reports_progress(model_env, datasets, tmp_path):
    p = predictor("nuclei-instance")
    files = _image_files(datasets, tmp_path, 5)
    seen = []
    out = list(predict_batch(p, files, progress=lambda d, t, m="": seen.append((d, t)), score_threshold=0.3))
    assert [path for path, _ in out] == files
    for i, (_path, r) in enumerate(out):
        assert (r.height, r.width) == (120 + 7 * i, 150 + 11 * i) and r.score_threshold == 0.3
    assert seen[0] == (0, 5) and seen[-1] == (5, 5) and [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_batch_cancel_stops_promptly(model_env, datasets, tmp_path):
    p = predictor("nuclei-semantic")
    files = _image_files(datasets, tmp_path, 5)
    token = CancelToken()
    got = []
    with pytest.raises(Cancelled):
        for path, _r in predict_batch(p, files, cancel=token):
            got.append(path)
            token.cancel()
    assert got == files[:1]  # stopped before the second image reached the model


def test_batch_skips_unreadable_files_when_asked(model_env, datasets, tmp_path):
    p = predictor("nuclei-semantic")
    files = _image_files(datasets, tmp_path, 2)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    errors = []
    out = list(predict_batch(p, [files[0], bad, files[1]], errors=errors))
    assert [path for path, _ in out] == files and errors[0][0] == bad and "broken.png" in errors[0][1]
    with pytest.raises(InputError, match="broken.png"):
        list(predict_batch(p, [bad]))


def test_int8_is_asked_of_the_quantize_module_lazily(model_env, monkeypatch):
    asked = []

    def int8_model(spec, float_model, calibration_images=None, cache_dir=None, progress=None, cancel=None):
        asked.append(spec.name)
        return float_model

    monkeypatch.setitem(sys.modules, "maskwork.core.models.int8.quantize", types.SimpleNamespace(int8_model=int8_model))
    p = Predictor("lraspp_mobilenet_v3_large", int8=True)
    assert asked == ["lraspp_mobilenet_v3_large"] and p.device.type == "cpu"


def test_stage_by_stage_detection_equals_the_models_own_forward(model_env, images):
    p = predictor("nuclei-instance")
    image = images["nuclei"]
    result = p.predict(image, mask_threshold=0.5)
    x = torch.from_numpy(image).permute(2, 0, 1).float() / 255
    with torch.inference_mode():
        ref = p.model([x])[0]  # torchvision's own postprocess: full-size pasted masks
    keep = [i for i in range(len(ref["scores"])) if (ref["masks"][i, 0] > 0.5).any()]
    assert len(result) == len(keep) > 0
    assert np.allclose(result.scores, ref["scores"][keep].numpy(), atol=1e-6)
    xyxy = ref["boxes"][keep].numpy()
    assert np.allclose(result.boxes[:, :2], xyxy[:, :2], atol=1e-3)
    assert np.allclose(result.boxes[:, 2:], xyxy[:, 2:] - xyxy[:, :2], atol=1e-3)
    for mask, i in zip(result.masks, keep):
        assert np.array_equal(mask.to_full(), (ref["masks"][i, 0] > 0.5).numpy())


def test_a_wrapped_detector_goes_through_its_forward(model_env, images):
    """int8 modules may wrap the detector: only forward() is used then, with the same results."""
    p = predictor("nuclei-instance")

    class Wrapped(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, images):
            return self.inner(images)

    wrapped = Predictor(p.spec, model=Wrapped(p.model), device="cpu")
    image = images["nuclei"][:150, :170]
    a, b = p.predict(image), wrapped.predict(image)
    assert len(a) == len(b) > 0 and np.allclose(a.scores, b.scores, atol=1e-6)
    assert all(m == n for m, n in zip(a.masks, b.masks))


@pytest.mark.parametrize("name", ["lraspp_mobilenet_v3_large", "nuclei-semantic", "nuclei-instance"])
def test_tiny_images_and_long_strips(model_env, images, name):
    p = predictor(name)
    for h, w in [(1, 1), (7, 9), (3, 600)]:
        image = crop(images["nuclei"], h, w)
        prepared = p.prepare(image)
        assert max(prepared.tensor.shape[-2:]) <= max(2048, w)  # a strip is not blown up to 520 x 104000
        result = p.predict(image)
        shape = (result.height, result.width) if p.task == "instance" else result.label_map.shape
        assert shape == (h, w)


def test_semantic_preprocessing_matches_the_torchvision_preset(model_env, images):
    """The VOC models get their input as torchvision's own preset prepares it (shorter side 520)."""
    from torchvision.models import get_weight

    spec = get_model("deeplabv3_mobilenet_v3_large")
    preset = get_weight(spec.source.weights).transforms()
    for image in (images["aerial"], images["coco"]):
        ours = prepare(image, spec.task, spec.input).tensor
        ref = preset(torch.from_numpy(image).permute(2, 0, 1))
        assert ours.shape == ref.shape and min(ours.shape[-2:]) == 520
        assert (ours - ref).abs().max() < 0.05  # uint8 rounding inside the preset's resize


def test_scaled_tiles_come_back_at_the_original_size(model_env, images):
    spec = get_model("nuclei-semantic").with_input(mode="tile", tile=64, overlap=16, scale=0.5)
    p = Predictor(spec, model=torch.nn.Conv2d(3, 2, 1), device="cpu")  # pointwise: any tiling gives the same
    image = images["nuclei"]
    result = p.predict(image)
    assert result.label_map.shape == image.shape[:2]
    whole = Predictor(spec.with_input(scale=0.5, tile=4096), model=p.model, device="cpu").predict(image)
    assert np.array_equal(result.label_map, whole.label_map)
