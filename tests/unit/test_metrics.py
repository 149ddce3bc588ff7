"""Metrics on real data: aerial label maps (semantic), nuclei and COCO masks (instances, AP).

Expected values always come from an independent computation in the test (plain numpy on full
arrays, brute force, or pycocotools used directly), never from numbers copied from a run."""
from __future__ import annotations

import contextlib
import io
import itertools
import json
import math

import cv2
import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from maskwork.core import editing as E
from maskwork.core.domain.annotation import Instance, Layer
from maskwork.core.domain.errors import Cancelled, InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.domain.progress import CancelToken
from maskwork.core.metrics import (
    ConfusionTracker,
    accumulate,
    coco_mask_ap,
    compare_layers,
    confusion_matrix,
    iou_matrix,
    match_instances,
    semantic_scores,
)

AERIAL_IDS = list(range(6))


# ---- real data -------------------------------------------------------------------------------------
def aerial(aerial_dir, name: str, size: int = 200, y: int = 0, x: int = 0) -> np.ndarray:
    full = np.array(Image.open(aerial_dir / "masks" / name))
    return np.ascontiguousarray(full[y : y + size, x : x + size])


def perturb(gt: np.ndarray, seed: int) -> np.ndarray:
    """A plausible wrong prediction: shifted, with a block of one class and a class swapped."""
    rng = np.random.default_rng(seed)
    pred = np.roll(gt, (int(rng.integers(2, 9)), int(rng.integers(2, 9))), axis=(0, 1)).copy()
    y, x = rng.integers(0, gt.shape[0] - 40), rng.integers(0, gt.shape[1] - 40)
    pred[y : y + 40, x : x + 40] = rng.integers(1, 6)
    pred[pred == 4] = 2
    return pred


@pytest.fixture(scope="module")
def aerial_pair(aerial_dir):
    gt = aerial(aerial_dir, "tile1_008.png", 240, 120, 120)  # a window with all six classes
    assert (np.bincount(gt.ravel(), minlength=6) > 0).all()
    return gt, perturb(gt, 0)


@pytest.fixture(scope="module")
def nuclei(nuclei_val):
    return json.loads(nuclei_val.read_text())


def image_masks(nuclei, image_id) -> list[Mask]:
    return [Mask.from_rle(a["segmentation"]) for a in nuclei["annotations"] if a["image_id"] == image_id]


def by_count(nuclei, rank: int) -> int:
    """Image id with the rank-th most nuclei (0 = the most)."""
    counts: dict = {}
    for a in nuclei["annotations"]:
        counts[a["image_id"]] = counts.get(a["image_id"], 0) + 1
    return sorted(counts, key=lambda i: (-counts[i], i))[rank]


def full_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 1.0


def shifted(m: Mask, dx: int, dy: int) -> Mask:
    return Mask.from_full(np.roll(m.to_full(), (dy, dx), axis=(0, 1)))


# ---- semantic ---------------------------------------------------------------------------------------
def test_confusion_matrix_counts_every_pair(aerial_pair):
    gt, pred = aerial_pair
    for ignore in (None, 0):
        conf = confusion_matrix(gt, pred, 6, ignore_index=ignore)
        valid = np.ones_like(gt, bool) if ignore is None else gt != ignore
        for g, p in itertools.product(range(6), range(6)):
            assert conf[g, p] == np.count_nonzero((gt == g) & (pred == p) & valid)
        assert conf.dtype == np.int64


def test_semantic_iou_equals_numpy_on_aerial(aerial_pair):
    gt, pred = aerial_pair
    ids = AERIAL_IDS + [6]  # class 6 is in neither map: its IoU is nan and it is not averaged
    scores = semantic_scores(gt, pred, ids, ignore_index=0)
    valid = gt != 0
    expected = {}
    for c in ids[1:]:
        inter = np.count_nonzero((gt == c) & (pred == c) & valid)
        union = np.count_nonzero(((gt == c) | (pred == c)) & valid)
        expected[c] = inter / union if union else math.nan
    assert set(scores.per_class) == set(expected)  # the ignored class is not scored
    for c, v in expected.items():
        assert scores.per_class[c] == pytest.approx(v, nan_ok=True)
    assert math.isnan(scores.per_class[6]) and expected[4] == 0.0  # class 4 was swapped away
    assert scores.mean_iou == pytest.approx(np.nanmean(list(expected.values())))
    assert scores.pixel_accuracy == pytest.approx(np.count_nonzero((gt == pred) & valid) / np.count_nonzero(valid))


def test_accumulate_sums_confusions_over_images(aerial_dir):
    names = ["tile1_002.png", "tile3_004.png", "tile5_001.png"]
    gts = [aerial(aerial_dir, n) for n in names]
    preds = [perturb(g, k) for k, g in enumerate(gts)]
    calls = []
    scores = accumulate(zip(gts, preds), AERIAL_IDS, progress=lambda d, t, m="": calls.append((d, t)),
                        total=3, names=names)
    together = semantic_scores(np.hstack(gts), np.hstack(preds), AERIAL_IDS)  # one image made of all three
    assert scores.per_class == pytest.approx(together.per_class, nan_ok=True)
    assert np.array_equal(scores.confusion, together.confusion) and calls[-1] == (3, 3)
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(Cancelled):
        accumulate(zip(gts, preds), AERIAL_IDS, cancel=cancel)
    bad = [(gts[0], preds[0]), (gts[1], preds[1][:-1])]
    with pytest.raises(InputError, match="tile3_004.png: truth and prediction differ in size"):
        accumulate(bad, AERIAL_IDS, names=names)


def test_semantic_bad_input_says_what_and_where(aerial_pair):
    gt, pred = aerial_pair
    with pytest.raises(InputError, match="class id 5, outside the 5 classes"):
        semantic_scores(gt, pred, [0, 1, 2, 3, 4])
    with pytest.raises(InputError, match="differ in size"):
        confusion_matrix(gt, pred[:, 1:], 6)


# ---- instance matching ------------------------------------------------------------------------------
def test_iou_matrix_equals_full_image_iou(nuclei):
    gt = image_masks(nuclei, by_count(nuclei, 40))
    pred = [Mask.from_full(cv2.dilate(m.to_full().astype(np.uint8), np.ones((9, 9), np.uint8))) for m in gt]
    ious = iou_matrix(gt, pred)
    full_g, full_p = [m.to_full() for m in gt], [m.to_full() for m in pred]
    expected = np.array([[full_iou(a, b) for b in full_p] for a in full_g])
    assert np.allclose(ious, expected)
    assert np.count_nonzero(expected) > len(gt)  # neighbours overlap: the matching has choices to make


def test_match_recovers_shifted_copies(nuclei):
    gt = image_masks(nuclei, by_count(nuclei, 5))
    rng = np.random.default_rng(1)
    order = rng.permutation(len(gt))
    kept = order[5:]  # 5 nuclei were missed by the "model"
    pred = [shifted(gt[i], 2, 1) for i in kept]
    h, w = gt[0].shape
    fp = [Mask.from_full(cv2.circle(np.zeros((h, w), np.uint8), (int(x), int(y)), 3, 1, -1).astype(bool))
          for x, y in rng.integers(0, (w, h), size=(3, 2))]  # tiny false positives
    match = match_instances(gt, pred + fp, iou_threshold=0.5)
    expected = {int(i): j for j, i in enumerate(kept) if full_iou(gt[i].to_full(), pred[j].to_full()) >= 0.5}
    assert {g: p for g, p, _ in match.pairs} == expected
    for g, p, v in match.pairs:
        assert v == pytest.approx(full_iou(gt[g].to_full(), pred[p].to_full()))
        assert match.per_gt_iou[g] == pytest.approx(v)
    assert set(order[:5]) <= set(match.unmatched_gt) and all(match.per_gt_iou[i] == 0 for i in match.unmatched_gt)
    assert {len(pred), len(pred) + 1, len(pred) + 2} <= set(match.unmatched_pred)
    assert match.precision == pytest.approx(len(expected) / (len(pred) + 3))
    assert match.recall == pytest.approx(len(expected) / len(gt))
    assert match.mean_matched_iou == pytest.approx(np.mean([v for *_, v in match.pairs]))


def test_panoptic_quality_counts_misses_and_extras(nuclei):
    """PQ = SQ x RQ: a perfect match of every nucleus plus one false positive is no longer 1."""
    gt = image_masks(nuclei, by_count(nuclei, 5))
    perfect = match_instances(gt, list(gt))
    assert perfect.panoptic_quality == pytest.approx(1.0)
    h, w = gt[0].shape
    far = Mask.from_full(cv2.circle(np.zeros((h, w), np.uint8), (3, 3), 2, 1, -1).astype(bool))
    extra = match_instances(gt, list(gt) + [far])
    assert extra.mean_matched_iou == pytest.approx(1.0) and extra.tp == len(gt)  # blind to the extra
    assert extra.panoptic_quality == pytest.approx(len(gt) / (len(gt) + 0.5))
    missed = match_instances(gt, [shifted(m, 2, 1) for m in gt[3:]])
    sq = np.mean([v for *_, v in missed.pairs])
    rq = missed.tp / (missed.tp + 0.5 * len(missed.unmatched_gt) + 0.5 * len(missed.unmatched_pred))
    assert missed.panoptic_quality == pytest.approx(sq * rq) and missed.panoptic_quality < sq
    assert math.isnan(match_instances([], []).panoptic_quality)


def brute_force_best(ious: np.ndarray, threshold: float) -> float:
    """Largest total IoU of any one-to-one matching using pairs >= threshold (exhaustive)."""
    g, p = ious.shape
    best = 0.0
    for k in range(min(g, p) + 1):
        for rows in itertools.combinations(range(g), k):
            for cols in itertools.permutations(range(p), k):
                vals = ious[list(rows), list(cols)]
                if (vals >= threshold).all():
                    best = max(best, float(vals.sum()))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_match_is_optimal_like_brute_force(nuclei, seed):
    rng = np.random.default_rng(seed)
    masks = image_masks(nuclei, by_count(nuclei, 0))
    centres = np.array([(m.x0 + m.crop.shape[1] / 2, m.y0 + m.crop.shape[0] / 2) for m in masks])
    near = np.argsort(np.linalg.norm(centres - centres[rng.integers(len(masks))], axis=1))[:5]
    gt = [masks[i] for i in near]  # five neighbouring nuclei
    pred = []
    for k, m in enumerate(gt):  # distorted copies: grown, shifted, or fused with a neighbour
        choice = rng.integers(3)
        if choice == 0:
            full = cv2.dilate(m.to_full().astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        elif choice == 1:
            full = shifted(m, *rng.integers(-4, 5, size=2)).to_full()
        else:
            full = m.to_full() | gt[(k + 1) % len(gt)].to_full()
        pred.append(Mask.from_full(full))
    pred = [pred[i] for i in rng.permutation(len(pred))]
    threshold = 0.2
    match = match_instances(gt, pred, iou_threshold=threshold)
    expected = np.array([[full_iou(a.to_full(), b.to_full()) for b in pred] for a in gt])
    assert sum(v for *_, v in match.pairs) == pytest.approx(brute_force_best(expected, threshold))
    assert len({g for g, *_ in match.pairs}) == len({p for _, p, _ in match.pairs}) == len(match.pairs)
    assert all(v >= threshold for *_, v in match.pairs)


def test_match_pairs_only_same_class(nuclei):
    gt = image_masks(nuclei, by_count(nuclei, 30))
    pred = [shifted(m, 1, 0) for m in gt]
    gt_classes = [1 + k % 2 for k in range(len(gt))]
    pred_classes = [1] * len(pred)
    match = match_instances(gt, pred, 0.5, gt_classes, pred_classes)
    assert match.pairs and all(gt_classes[g] == 1 for g, *_ in match.pairs)
    assert all(k in match.unmatched_gt for k in range(1, len(gt), 2))
    with pytest.raises(InputError, match="one class per mask"):
        match_instances(gt, pred, 0.5, gt_classes[:-1], pred_classes)


# ---- COCO AP -----------------------------------------------------------------------------------------
def subset(nuclei, image_ids) -> dict:
    return {"images": [i for i in nuclei["images"] if i["id"] in image_ids],
            "annotations": [a for a in nuclei["annotations"] if a["image_id"] in image_ids],
            "categories": nuclei["categories"]}


def detections(gt: dict, erode: int = 0) -> list[dict]:
    out = []
    for a in gt["annotations"]:
        m = mask_utils.decode(a["segmentation"])
        if erode:
            m = cv2.erode(m, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8))
        rle = mask_utils.encode(np.asfortranarray(m))
        rle["counts"] = rle["counts"].decode("ascii")
        out.append({"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": rle, "score": 1.0})
    return out


def test_coco_ap_of_truth_is_one_and_drops_when_eroded(nuclei):
    gt = subset(nuclei, {by_count(nuclei, 0), by_count(nuclei, 50), by_count(nuclei, 90)})
    assert max(sum(a["image_id"] == i["id"] for a in gt["annotations"]) for i in gt["images"]) > 100
    pristine = json.dumps(gt)
    perfect = coco_mask_ap(gt, detections(gt))
    assert json.dumps(gt) == pristine  # COCOeval rewrites annotations in place: ours works on copies
    assert perfect["AP"] == pytest.approx(1.0) and perfect["AP50"] == pytest.approx(1.0)
    eroded1, eroded2 = coco_mask_ap(gt, detections(gt, 1)), coco_mask_ap(gt, detections(gt, 2))
    assert eroded2["AP"] < eroded1["AP"] < 1.0
    assert eroded1["AP75"] <= eroded1["AP50"]


def test_coco_ap_agrees_with_cocoeval_summary(nuclei):
    gt = subset(nuclei, {by_count(nuclei, 60), by_count(nuclei, 70)})
    dets = detections(gt, 1)[::2] + detections(gt)[1::2]
    ours = coco_mask_ap(gt, dets, max_dets=100)
    with contextlib.redirect_stdout(io.StringIO()):  # the reference: pycocotools' own summary
        coco = COCO()
        coco.dataset = json.loads(json.dumps(gt))
        coco.createIndex()
        ev = COCOeval(coco, coco.loadRes(json.loads(json.dumps(dets))), iouType="segm")
        ev.evaluate(), ev.accumulate(), ev.summarize()
    for k, key in enumerate(("AP", "AP50", "AP75", "APs", "APm", "APl")):
        ref = ev.stats[k]
        assert (math.isnan(ours[key]) and ref == -1) or ours[key] == pytest.approx(ref)


def test_coco_ap_on_polygons_with_crowd_regions(coco_sample_val):
    gt = json.loads(coco_sample_val.read_text())
    assert any(a["iscrowd"] for a in gt["annotations"])
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
    dets = []
    for a in gt["annotations"]:
        if not a["iscrowd"]:
            rle = coco.annToRLE(a)
            rle["counts"] = rle["counts"].decode("ascii")
            dets.append({"image_id": a["image_id"], "category_id": a["category_id"], "segmentation": rle, "score": 0.9})
    assert coco_mask_ap(gt, dets)["AP"] == pytest.approx(1.0)


def test_coco_ap_rejects_bad_detections(nuclei):
    gt = subset(nuclei, {by_count(nuclei, 80)})
    with pytest.raises(InputError, match="no detections"):
        coco_mask_ap(gt, [])
    dets = detections(gt)
    dets[0] = dict(dets[0], image_id=987654)
    with pytest.raises(InputError, match="987654"):
        coco_mask_ap(gt, dets)
    with pytest.raises(InputError, match="category id"):
        coco_mask_ap(gt, [dict(d, category_id=42) for d in detections(gt)])
    small = mask_utils.encode(np.asfortranarray(np.ones((10, 12), np.uint8)))
    with pytest.raises(InputError, match="detection #0: its mask is"):
        coco_mask_ap(gt, [dict(detections(gt)[0], segmentation=small)])


# ---- layers for the GUI panel --------------------------------------------------------------------------
def test_compare_layers_semantic_and_instances(aerial_pair, nuclei):
    gt, pred = aerial_pair
    semantic = compare_layers(Layer(gt), Layer(pred), AERIAL_IDS, ignore_index=0)
    assert semantic.per_class == pytest.approx(semantic_scores(gt, pred, AERIAL_IDS, 0).per_class, nan_ok=True)
    masks = image_masks(nuclei, by_count(nuclei, 20))
    truth = Layer(instances=[Instance(10 + k, 1, m) for k, m in enumerate(masks)])
    guess = Layer(instances=[Instance(100 + k, 1, shifted(m, 1, 1)) for k, m in enumerate(masks) if k != 3])
    result = compare_layers(truth, guess, [0, 1])
    by_gt = {s.gt_id: s for s in result.per_instance}
    assert by_gt[13].pred_id is None and by_gt[13].iou == 0.0
    for k, m in enumerate(masks):
        if k != 3 and full_iou(m.to_full(), shifted(m, 1, 1).to_full()) >= 0.5:
            assert by_gt[10 + k].pred_id == 100 + k
            assert by_gt[10 + k].iou == pytest.approx(full_iou(m.to_full(), shifted(m, 1, 1).to_full()))
    assert result.mean_iou == pytest.approx(np.mean([s.iou for s in result.per_instance]))
    assert math.isnan(result.per_class[0]) and result.per_class[1] == pytest.approx(result.mean_iou)


# ---- live IoU while painting -----------------------------------------------------------------------------
@pytest.mark.parametrize("edited", ["gt", "pred"])
def test_confusion_tracker_equals_recomputation(aerial_pair, edited):
    gt, pred = aerial_pair[0].copy(), aerial_pair[1].copy()
    layer = Layer(gt if edited == "gt" else pred)
    tracker = ConfusionTracker(gt, pred, 6, ignore_index=0 if edited == "pred" else None, edited=edited)
    rng = np.random.default_rng(7)
    history = []
    for step in range(40):
        a, b = tuple(rng.integers(-10, 250, 2)), tuple(rng.integers(-10, 250, 2))
        c = int(rng.integers(0, 6))
        kind = step % 5
        if kind == 0:
            edit = E.brush_segment(layer, a, b, int(rng.integers(0, 20)), c)
        elif kind == 1:
            edit = E.flood_fill(layer, a, c)
        elif kind == 2:
            edit = E.fill_polygon(layer, [a, b, (a[0], b[1])], c)
        elif kind == 3:  # a stroke grouped into one step
            group = E.EditGroup("Brush")
            for k in range(8):
                start, end = (a[0] + 6 * k, a[1] + 3 * k), (a[0] + 6 * k + 6, a[1] + 3 * k + 3)
                group.add(E.brush_segment(layer, start, end, 5, c))
            edit = group.finish(layer)
        else:  # undo the last step, then redo it
            if history:
                history[-1].undo(layer)
                assert tracker.update(history[-1], undone=True)
                assert np.array_equal(tracker.confusion, confusion_matrix(gt, pred, 6, tracker.ignore_index))
                history[-1].redo(layer)
            edit = history[-1] if history else None
        if kind != 4 and edit is not None:
            history.append(edit)
        assert tracker.update(edit)
        assert np.array_equal(tracker.confusion, confusion_matrix(gt, pred, 6, tracker.ignore_index)), step
    scores = tracker.scores(AERIAL_IDS)
    assert scores.per_class == pytest.approx(semantic_scores(gt, pred, AERIAL_IDS, tracker.ignore_index).per_class,
                                             nan_ok=True)


def test_confusion_tracker_on_a_big_map_and_after_replace(aerial_pair):
    gt = cv2.resize(aerial_pair[0], (8000, 6000), interpolation=cv2.INTER_NEAREST)
    pred = cv2.resize(aerial_pair[1], (8000, 6000), interpolation=cv2.INTER_NEAREST)
    layer = Layer(gt)
    tracker = ConfusionTracker(gt, pred, 6)
    edit = E.brush_segment(layer, (5000, 4000), (5100, 4100), 40, 3)
    tracker.update(edit)
    assert np.array_equal(tracker.confusion, confusion_matrix(gt, pred, 6))
    replaced = E.replace_layer(layer, Layer(pred))  # accept the prediction: truth == prediction now
    assert tracker.update(replaced)
    assert np.trace(tracker.confusion) == gt.size
