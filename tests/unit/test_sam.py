"""Promptable models (core/interactive/sam): Maskwork's pre/post-processing against segment-anything's
own SamPredictor on real images (the table, downloads, cache and CLI: test_sam_catalog.py).

No SAM weights can be downloaded here, so the reference is a SMALL SAM built from segment_anything's
own classes with seeded random weights: its image encoder is shrunk (depth 2, width 32) because these
checks are about what happens around the network (resize, normalise, pad, prompt coordinates, mask
upscaling and cut), which is the same for any encoder size; the prompt encoder and mask decoder are
the real SAM sizes (tests/unit/sam_fixtures.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from maskwork.core.domain.errors import Cancelled, InputError, ModelError
from maskwork.core.interactive.prompt import Prompt
from maskwork.core.interactive.sam import transforms as T
from maskwork.core.interactive.sam.model import Embedding, PromptModel
from maskwork.core.store.images import read_image
from tests.unit.sam_fixtures import export_tiny_sam, reference_predict, standard_prompts, tiny_sam

torch = pytest.importorskip("torch")
sa = pytest.importorskip("segment_anything", reason="test extra: pip install segment-anything==1.0")

COCO = Path("coco_sample") / "val2017" / "000000005001.jpg"     # 640x480 photo of people
NUCLEI = Path("nuclei") / "images" / "0121d6759c5adb29.png"      # 320x256 fluorescence
# ONNX Runtime and PyTorch round float32 differently (logits differ by ~1e-6): a pixel may flip only
# where the reference logit is that close to SAM's threshold 0.
FLIP_BAND = 1e-4


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    sam = tiny_sam()
    paths = export_tiny_sam(sam, tmp_path_factory.mktemp("tiny_sam"))
    return sam, paths, PromptModel(paths["encoder"], paths["decoder"], "sam", "tiny")


@pytest.fixture(scope="module")
def references(tiny, datasets):
    """SamPredictor and Maskwork's embedding for each test image (the costly part, done once)."""
    sam, _, model = tiny
    out = {}
    for path in (COCO, NUCLEI):
        image = read_image(datasets / path)
        predictor = sa.SamPredictor(sam)
        predictor.set_image(image)
        out[path.name] = (image, predictor, model.encode(image))
    return out


def _assert_same_masks(result, ref_logits, model, emb):
    ours = np.stack([m.to_full() for m in result.masks])
    assert ours.shape == ref_logits.shape
    flips = ours != (ref_logits > model_threshold())
    assert np.all(np.abs(ref_logits[flips]) < FLIP_BAND), f"{flips.sum()} pixels differ away from the threshold"
    assert flips.mean() < 1e-4
    fg = (ref_logits > 0).mean()
    assert 0.01 < fg < 0.99, "the random model must give masks with both object and background to test anything"
    logits = np.stack([T.image_logits(lr, emb.frame, model.layout) for lr in result.low_res])
    assert np.abs(logits - ref_logits).max() < 1e-4


def model_threshold() -> float:
    return 0.0  # Sam.mask_threshold


@pytest.mark.parametrize("image_name", [COCO.name, NUCLEI.name])
def test_masks_match_the_reference_predictor(tiny, references, image_name):
    sam, _, model = tiny
    image, predictor, emb = references[image_name]
    assert np.abs(emb.features["image_embeddings"] - predictor.features.numpy()).max() < 1e-3
    h, w = image.shape[:2]
    assert h != w
    for prompt in standard_prompts(w, h):
        for multimask in (True, False):
            ref, scores, _ = reference_predict(predictor, prompt, multimask)
            result = model.decode(emb, prompt, multimask=multimask)
            _assert_same_masks(result, ref, model, emb)
            np.testing.assert_allclose(result.scores, scores, atol=1e-4)
            assert result.best == int(np.argmax(scores))


def test_previous_mask_logits_refine_like_the_reference(tiny, references):
    _, _, model = tiny
    image, predictor, emb = references[COCO.name]
    first = model.decode(emb, Prompt(points=[(300, 200, True)]))
    prompt = Prompt(points=[(300, 200, True), (100, 400, False)])
    previous = first.low_res[first.best]
    ref, _, _ = reference_predict(predictor, prompt, False, mask_input=previous[None])
    _assert_same_masks(model.decode(emb, prompt, multimask=False, previous=previous), ref, model, emb)
    plain, _, _ = reference_predict(predictor, prompt, False)
    assert (np.sign(plain) != np.sign(ref)).mean() > 0.001  # the previous mask did change the answer


def test_the_check_fails_when_a_transform_is_wrong(tiny, references, monkeypatch):
    """The agreement above is not luck: clicks left in image pixels, or a squashed image, disagree."""
    _, _, model = tiny
    image, predictor, emb = references[COCO.name]
    prompt = Prompt(points=[(600, 50, True), (40, 400, True)])
    ref, _, _ = reference_predict(predictor, prompt, False)
    monkeypatch.setattr(T.Frame, "to_frame", lambda self, xy: np.asarray(xy, float))
    wrong = model.decode(emb, prompt, multimask=False).masks[0].to_full()
    assert (wrong != (ref > 0)).mean() > 0.01
    monkeypatch.undo()
    squashed = model.encoder.run(None, {"x": T.encoder_input(image, T.Frame(480, 640, 1024, 1024), model.layout)})[0]
    bad = model.decode(Embedding({"image_embeddings": squashed}, emb.frame), prompt, multimask=False)
    assert (bad.masks[0].to_full() != (ref > 0)).mean() > 0.01


def test_an_encoder_that_preprocesses_itself_gives_the_same_embedding(tiny, references):
    _, paths, model = tiny
    image, _, emb = references[NUCLEI.name]
    hwc = PromptModel(paths["hwc_encoder"], paths["decoder"], "sam")
    other = hwc.encode(image)
    assert other.frame == emb.frame
    assert np.abs(other.features["image_embeddings"] - emb.features["image_embeddings"]).max() < 1e-4


def test_candidates_follow_sams_rule(tiny, references):
    _, paths, model = tiny
    image, _, emb = references[NUCLEI.name]
    one = model.decode(emb, Prompt(points=[(100, 100, True)]))
    assert len(one.masks) == 3 and one.best == int(np.argmax(one.scores))    # ambiguous click: 3 choices
    more = model.decode(emb, Prompt(points=[(100, 100, True), (200, 50, False)]))
    assert len(more.masks) == 4 and more.best == 0                             # single-mask output first
    assert more.next_index(3) == 0 and one.next_index(0, -1) == 2
    single = PromptModel(paths["encoder"], paths["single_decoder"], "sam")
    assert len(single.decode(emb, Prompt(points=[(100, 100, True)])).masks) == 1


def test_windowed_upscaling_equals_torch_interpolate():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(2, 37, 53)).astype(np.float32)
    full = torch.nn.functional.interpolate(torch.from_numpy(a)[None], (300, 211), mode="bilinear",
                                           align_corners=False)[0].numpy()
    np.testing.assert_allclose(T.resize_window(a, 300, 211), full, atol=1e-5)
    np.testing.assert_allclose(T.resize_window(a, 300, 211, 17, 120, 40, 90), full[:, 17:120, 40:90], atol=1e-5)
    low = np.full((256, 256), -5, np.float32)
    low[100:110, 30:35] = 5
    window = T.positive_window(low, 3000, 4000)
    x0, y0, x1, y1 = window
    everything = T.resize_window(low, 3000, 4000) > 0
    assert everything[:, :x0].sum() == everything[:, x1:].sum() == everything[:y0].sum() == everything[y1:].sum() == 0
    assert everything.sum() > 0 and (x1 - x0) * (y1 - y0) < 0.01 * everything.size


def test_bad_inputs_say_what_to_do(tiny, references):
    _, paths, model = tiny
    _, _, emb = references[NUCLEI.name]
    with pytest.raises(InputError, match="click or a box"):
        model.decode(emb, Prompt())
    with pytest.raises(InputError, match="outside"):
        model.decode(emb, Prompt(points=[(5000, 5, True)]))
    with pytest.raises(ModelError, match="not a sam decoder"):
        PromptModel(paths["decoder"], paths["encoder"], "sam")
    with pytest.raises(ModelError, match="not a sam2 decoder"):
        PromptModel(paths["encoder"], paths["decoder"], "sam2")
    with pytest.raises(InputError, match="RGB"):
        model.encode(np.zeros((10, 10), np.uint8))


def test_encoding_can_be_cancelled(tiny, references):
    _, _, model = tiny
    image = references[COCO.name][0]
    from maskwork.core.domain.progress import CancelToken

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        model.encode(image, cancel=token)
