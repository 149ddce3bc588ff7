"""The "efficientsam" layout against EfficientSAM's own model on real images (tests/unit/efficientsam_fixtures.py).

Needs EfficientSAM's source, which is not on PyPI: set MASKWORK_EFFICIENTSAM_SRC to a checkout of
github.com/yformer/EfficientSAM (tools/verify_efficientsam.py says how and runs the check at full size).
The ViT encoder is shallower than EfficientSAM-Ti's (depth 2, Ti's width); decoder and prompt encoder are real.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from maskwork.core.interactive.prompt import Prompt
from maskwork.core.interactive.sam import transforms as T
from maskwork.core.interactive.sam.model import PromptModel
from maskwork.core.store.images import read_image
from tests.unit import efficientsam_fixtures as E

torch = pytest.importorskip("torch")
SRC = E.source_dir()
pytestmark = pytest.mark.skipif(SRC is None, reason=f"EfficientSAM's source is not here: set {E.ENV} to a checkout "
                                "of github.com/yformer/EfficientSAM (see tools/verify_efficientsam.py)")

COCO = Path("coco_sample") / "val2017" / "000000005001.jpg"     # 640x480 photo of people
NUCLEI = Path("nuclei") / "images" / "0121d6759c5adb29.png"      # 320x256 fluorescence
FLIP_BAND = 1e-4   # ONNX Runtime and PyTorch round float32 differently: a pixel may flip only this close to 0


@pytest.fixture(scope="module")
def esam(tmp_path_factory):
    net = E.build(SRC, "ti", depth=2)
    encoder, decoder = E.export(SRC, net, tmp_path_factory.mktemp("efficientsam"))
    return net, PromptModel(encoder, decoder, "efficientsam", "esam-tiny")


@pytest.fixture(scope="module")
def references(esam, datasets):
    net, model = esam
    out = {}
    for path in (COCO, NUCLEI):
        image = read_image(datasets / path)
        out[path.name] = (image, E.embed(net, image), model.encode(image))
    return out


def _flips(result, ref_logits) -> np.ndarray:
    ours = np.stack([m.to_full() for m in result.masks])
    assert ours.shape == ref_logits.shape
    return ours != (ref_logits > 0)


def _assert_same(result, ref_logits, model, emb) -> None:
    flips = _flips(result, ref_logits)
    assert np.all(np.abs(ref_logits[flips]) < FLIP_BAND), f"{flips.sum()} pixels differ away from the threshold"
    assert 0.01 < (ref_logits > 0).mean() < 0.99, "the random model must give object and background"
    logits = np.stack([T.image_logits(lr, emb.frame, model.layout) for lr in result.low_res])
    assert np.abs(logits - ref_logits).max() < 1e-4


@pytest.mark.parametrize("image_name", [COCO.name, NUCLEI.name])
def test_masks_match_efficientsams_own_model(esam, references, image_name):
    net, model = esam
    image, ref_emb, emb = references[image_name]
    assert np.abs(emb.features["image_embeddings"] - ref_emb.numpy()).max() < 1e-4
    h, w = image.shape[:2]
    assert h != w
    for prompt in E.prompts(w, h):
        ref, iou = E.predict(net, ref_emb, *E.rows(prompt), h, w)
        result = model.decode(emb, prompt)
        assert len(result) == 3
        _assert_same(result, ref, model, emb)
        np.testing.assert_allclose(result.scores, iou, atol=1e-4)
        assert result.best == int(np.argmax(iou))     # the example sorts by predicted IoU and takes the first


def test_masks_match_the_files_run_as_osam_runs_them(esam, references):
    """osam feeds the whole image in 0..1 (the encoder resizes it) and the image's size as orig_im_size."""
    _, model = esam
    image, _, emb = references[COCO.name]
    h, w = image.shape[:2]
    served = model.encoder.run(None, {"batched_images": image.transpose(2, 0, 1)[None].astype(np.float32) / 255})[0]
    assert np.abs(served - emb.features["image_embeddings"]).max() < 1e-4
    prompt = E.prompts(w, h)[3]
    points, labels = E.rows(prompt)
    masks, scores, _ = model.decoder.run(None, {"image_embeddings": served, "batched_point_coords": points[None, None],
                                                "batched_point_labels": labels[None, None],
                                                "orig_im_size": np.array([h, w], np.int64)})
    flips = _flips(model.decode(emb, prompt), masks[0, 0])
    assert np.all(np.abs(masks[0, 0][flips]) < FLIP_BAND)


def test_the_check_fails_when_a_transform_is_wrong(esam, references, monkeypatch):
    """The agreement is not luck: Pillow's 8-bit resampling (the sam layout's) or clicks left in image pixels
    disagree with the reference."""
    net, model = esam
    image, ref_emb, emb = references[COCO.name]
    h, w = image.shape[:2]
    prompt = Prompt(points=[(600, 50, True), (40, 400, True)])
    ref, _ = E.predict(net, ref_emb, *E.rows(prompt), h, w)
    pil = dataclasses.replace(model.layout, resample="pil")
    squashed = model.encoder.run(None, {"batched_images": T.encoder_input(image, emb.frame, pil)})[0]
    assert np.abs(squashed - emb.features["image_embeddings"]).max() > 1e-3
    bad = model.decode(dataclasses.replace(emb, features={"image_embeddings": squashed}), prompt)
    flips = _flips(bad, ref)
    assert np.any(np.abs(ref[flips]) > FLIP_BAND)
    monkeypatch.setattr(T.Frame, "to_frame", lambda self, xy: np.asarray(xy, float))
    assert _flips(model.decode(emb, prompt), ref).mean() > 0.01


def test_more_rows_than_the_decoder_takes_keep_the_box_and_the_latest_clicks(esam, references):
    """The decoder keeps its first 6 rows and drops the rest without a word; Maskwork sends the box and
    the most recent clicks instead, so a box is never the part that is lost."""
    net, model = esam
    image, ref_emb, emb = references[NUCLEI.name]
    h, w = image.shape[:2]
    clicks = [(20 + 40 * i, 30 + 25 * i, i % 2 == 0) for i in range(6)]
    prompt = Prompt(box=(30, 20, 260, 230), points=clicks)
    coords, labels = model.prompt_arrays(prompt, emb.frame)
    assert len(labels) == 6 and sorted(labels[-2:]) == [2.0, 3.0]
    kept = Prompt(box=prompt.box, points=clicks[2:])
    ref, _ = E.predict(net, ref_emb, *E.rows(kept), h, w)
    _assert_same(model.decode(emb, prompt), ref, model, emb)
    everything, _ = E.predict(net, ref_emb, *E.rows(prompt), h, w)     # what the reference itself would keep
    assert (np.sign(everything) != np.sign(ref)).mean() > 0.001
