"""The "sam2" layout (SAM 2.1 ONNX as osam serves it and samexporter exports it) against Meta's own
SAM2ImagePredictor on real images.

No SAM 2 weights can be downloaded here, so the reference is a SAM 2.1 built by the `sam2` package's
build_sam2 with seeded random weights, its Hiera trunk shrunk (what happens around the network is the
same for any trunk), the FPN neck, prompt encoder and mask decoder at their real sizes, exported in both
ecosystem forms (tests/unit/sam2_fixtures.py). Test-only dependency: sam2==1.1.0, which PyPI has only as
a source archive: `SAM2_BUILD_CUDA=0 pip install --no-build-isolation sam2==1.1.0` (a plain install
downloads CUDA torch into its build environment and tries to compile a CUDA extension).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.interactive.prompt import Prompt
from maskwork.core.interactive.sam import transforms as T
from maskwork.core.interactive.sam.model import PromptModel, stable_single
from maskwork.core.store.images import read_image

torch = pytest.importorskip("torch")
pytest.importorskip("sam2", reason="SAM 2 reference not installed: SAM2_BUILD_CUDA=0 pip install --no-build-isolation "
                    "sam2==1.1.0 (docs/MODELS.md)")
from tests.unit.sam2_fixtures import export_sam2, random_sam2  # noqa: E402  (needs sam2)
from tests.unit.sam_fixtures import reference_predict, standard_prompts  # noqa: E402

COCO = Path("coco_sample") / "val2017" / "000000005001.jpg"     # 640x480 photo of people
AERIAL = Path("aerial") / "images" / "tile7_006.jpg"             # 1817x2062: shrunk, where antialiasing counts
NUCLEI = Path("nuclei") / "images" / "0121d6759c5adb29.png"      # 320x256 fluorescence
FLIP_BAND = 1e-4   # ONNX Runtime and PyTorch round float32 differently: a pixel may flip only this close to 0


@pytest.fixture(scope="module")
def sam2(tmp_path_factory):
    net = random_sam2()
    paths = export_sam2(net, tmp_path_factory.mktemp("sam2"))
    assert not net.training   # SAM 2 applies its single-mask rule only in eval mode
    return net, {form: PromptModel(enc, dec, "sam2", form) for form, (enc, dec) in paths.items()}


@pytest.fixture(scope="module")
def references(sam2, datasets):
    """SAM2ImagePredictor and Maskwork's embedding (osam's encoder) of each test image."""
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    net, models = sam2
    out = {}
    for path in (COCO, NUCLEI):
        image = read_image(datasets / path)
        predictor = SAM2ImagePredictor(net)
        predictor.set_image(image)
        out[path.name] = (image, predictor, models["osam"].encode(image))
    return out


def _assert_same_masks(result, ref_logits, emb, layout):
    ours = np.stack([m.to_full() for m in result.masks])
    assert ours.shape == ref_logits.shape
    flips = ours != (ref_logits > 0)
    assert np.all(np.abs(ref_logits[flips]) < FLIP_BAND), f"{flips.sum()} pixels differ away from the threshold"
    fg = (ref_logits > 0).mean()
    assert 0.01 < fg < 0.99, "the random model must give masks with both object and background to test anything"
    logits = np.stack([T.image_logits(lr, emb.frame, layout) for lr in result.low_res])
    assert np.abs(logits - ref_logits).max() < 1e-4


@pytest.mark.parametrize("image_name", [COCO.name, NUCLEI.name])
def test_masks_match_the_reference_predictor(sam2, references, image_name):
    model = sam2[1]["osam"]
    image, predictor, emb = references[image_name]
    ref_feats = [predictor._features["image_embed"], *predictor._features["high_res_feats"]]
    for role, ref in zip(("image_embeddings", "high_res_0", "high_res_1"), ref_feats):
        assert np.abs(emb.features[role] - ref.numpy()).max() < 1e-4, role
    h, w = image.shape[:2]
    assert h != w
    for prompt in standard_prompts(w, h):
        for multimask in (True, False):
            ref, scores, _ = reference_predict(predictor, prompt, multimask)
            result = model.decode(emb, prompt, multimask=multimask)
            _assert_same_masks(result, ref, emb, model.layout)
            np.testing.assert_allclose(result.scores, scores, atol=1e-4)
            assert result.best == int(np.argmax(scores))


def test_samexporters_form_gives_the_same_answers(sam2, references):
    """Other names, other output order, a decoder without orig_im_size that gives only the 3 multimask tokens."""
    models = sam2[1]
    image, predictor, emb = references[COCO.name]
    other = models["samexporter"].encode(image)
    for role, value in emb.features.items():
        assert np.abs(other.features[role] - value).max() < 1e-5, role
    h, w = image.shape[:2]
    for prompt in standard_prompts(w, h)[::3]:   # one click; box and click
        ref, scores, _ = reference_predict(predictor, prompt, True)
        result = models["samexporter"].decode(other, prompt)
        _assert_same_masks(result, ref, emb, models["samexporter"].layout)
        np.testing.assert_allclose(result.scores, scores, atol=1e-4)
        assert result.best == int(np.argmax(scores))


def test_previous_mask_logits_refine_like_the_reference(sam2, references):
    model = sam2[1]["osam"]
    image, predictor, emb = references[NUCLEI.name]
    first = model.decode(emb, Prompt(points=[(150, 100, True)]))
    prompt = Prompt(points=[(150, 100, True), (40, 200, False)])
    previous = first.low_res[first.best]
    ref, _, _ = reference_predict(predictor, prompt, False, mask_input=previous[None])
    _assert_same_masks(model.decode(emb, prompt, multimask=False, previous=previous), ref, emb, model.layout)
    plain, _, _ = reference_predict(predictor, prompt, False)
    assert (np.sign(plain) != np.sign(ref)).mean() > 0.001  # the previous mask did change the answer


def test_single_mask_follows_sam2s_stability_rule(sam2, references):
    """Token 0 where its logits are stable, else the best multimask token: against the decoder's own rule on
    logits of both kinds (the random model's token 0 is never stable), then on a real decode."""
    net, models = sam2
    rng = np.random.default_rng(0)
    picks = set()
    for spread in (0.01, 0.2, 5.0, 50.0):
        low = (rng.normal(size=(4, 256, 256)) * spread + rng.normal(size=(4, 1, 1))).astype(np.float32)
        low[0, :, 100:] += 40 * spread                                  # token 0: an object and a background
        scores = rng.uniform(size=4).astype(np.float32)
        ref_logits, ref_score = net.sam_mask_decoder._dynamic_multimask_via_stability(
            torch.from_numpy(low[None]), torch.from_numpy(scores[None]))
        pick = stable_single(low, scores)
        assert np.array_equal(low[pick], ref_logits[0, 0].numpy()) and scores[pick] == float(ref_score[0, 0])
        picks.add(pick == 0)
    assert picks == {True, False}, "both branches of the rule must be exercised"
    image, predictor, emb = references[NUCLEI.name]
    one = models["osam"].decode(emb, Prompt(points=[(100, 100, True)]))
    assert len(one) == 3 and one.best == int(np.argmax(one.scores))     # one click: SAM 2's three candidates
    prompt = Prompt(points=[(100, 100, True), (200, 50, False)])
    more = models["osam"].decode(emb, prompt)
    ref, scores, _ = reference_predict(predictor, prompt, False)
    assert len(more) == 4 and more.scores[more.best] == pytest.approx(scores[0], abs=1e-4)
    flips = more.mask.to_full() != (ref[0] > 0)
    assert np.all(np.abs(ref[0][flips]) < FLIP_BAND)


def test_a_big_image_is_shrunk_as_sam2_shrinks_it(sam2, datasets):
    """SAM2Transforms' torchvision Resize antialiases on float pixels; Maskwork's encoder input matches it."""
    from sam2.utils.transforms import SAM2Transforms

    image = read_image(datasets / AERIAL)
    assert min(image.shape[:2]) > 1024
    layout = sam2[1]["osam"].layout
    frame = sam2[1]["osam"].frame_for(*image.shape[:2])
    ref = SAM2Transforms(1024, 0.0)(image).numpy()[None]
    assert np.abs(T.encoder_input(image, frame, layout) - ref).max() < 1e-5
    eight_bit = T.encoder_input(image, frame, dataclasses.replace(layout, resample="pil"))
    assert np.abs(eight_bit - ref).max() > 1e-3


def test_the_check_fails_when_a_transform_is_wrong(sam2, references, monkeypatch):
    """The agreement above is not luck: 8-bit resizing moves the embedding 100x past the tolerance, and
    clicks left in image pixels (not the stretched 1024 frame) give other masks."""
    model = sam2[1]["osam"]
    image, predictor, emb = references[COCO.name]
    x = T.encoder_input(image, emb.frame, dataclasses.replace(model.layout, resample="pil"))
    coarse = model.encoder.run(None, {"input": x})[0]
    assert np.abs(coarse - emb.features["image_embeddings"]).max() > 1e-2
    prompt = Prompt(box=(100, 80, 500, 400), points=[(300, 240, False), (120, 100, True)])
    ref, _, _ = reference_predict(predictor, prompt, True)
    monkeypatch.setattr(T.Frame, "to_frame", lambda self, xy: np.asarray(xy, float))
    wrong = np.stack([m.to_full() for m in model.decode(emb, prompt, multimask=True).masks])
    assert (wrong != (ref > 0)).mean() > 0.01
