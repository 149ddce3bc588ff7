"""Interactive tools (core/interactive) on real objects: sensible masks from realistic prompts, work
confined to a window around the prompt, one-sentence errors for unusable prompts, the `segment` CLI."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.formats.coco import load_coco
from maskwork.core.interactive import TOOLS, Prompt, Stroke, segment, snap_path
from maskwork.core.interactive.clicks import box_of, next_click, simulate
from maskwork.core.store.images import read_image

# the tools that segment from a prompt alone (the fix tool starts from an object's mask: test_fix_tool.py)
WEIGHT_FREE = sorted(name for name, spec in TOOLS.items() if not spec.needs & {"model", "mask"})


# ---- real objects ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nuclei(nuclei_objects):  # coco_people and nuclei_objects: tests/unit/interactive_objects.py
    return nuclei_objects


def centre_click(truth: Mask) -> tuple[int, int, bool]:
    """What a user clicks first: the interior point farthest from the object's boundary."""
    return next_click(truth, Mask.empty(truth.height, truth.width))


def mean_iou(tool: str, objects, with_box: bool, clicks: int = 1) -> float:
    """Mean IoU after the box (if any) and `clicks` simulated clicks."""
    ious = [simulate(lambda p, im=image: segment(tool, im, p), truth, with_box, max_clicks=clicks)[clicks]
            for image, truth in objects]
    return float(np.mean(ious))


# ---- each tool gives a sensible mask from a realistic prompt --------------------------------------
def test_grabcut_box_and_clicks_on_people(coco_people):
    assert mean_iou("grabcut", coco_people, with_box=True, clicks=1) > 0.70
    assert mean_iou("grabcut", coco_people, with_box=True, clicks=5) > 0.85


def test_grabcut_on_nuclei_from_the_box(nuclei):
    assert mean_iou("grabcut", nuclei, with_box=True, clicks=1) > 0.75


def test_wand_one_click_selects_a_nucleus(nuclei):
    assert mean_iou("wand", nuclei, with_box=False, clicks=1) > 0.60


def test_wand_tolerance_grows_the_region(nuclei):
    image, truth = nuclei[0]
    x, y, _ = centre_click(truth)
    areas = [segment("wand", image, Prompt(points=[(x, y, True)], tolerance=t)).area for t in (0.05, 0.5, 1.0)]
    assert areas[0] < areas[1] <= areas[2]


def test_scribble_box_and_clicks(coco_people, nuclei):
    assert mean_iou("scribble", nuclei, with_box=True, clicks=1) > 0.70
    assert mean_iou("scribble", coco_people, with_box=True, clicks=5) > 0.75


def _scribbles(truth: Mask) -> list[Stroke]:
    """What a user scribbles: a stroke through the object's middle (its deepest point in each of
    five horizontal bands) and one around it, outside its box."""
    full = truth.to_full()
    inside = []
    for k in range(5):
        band = np.zeros_like(full)
        y0 = truth.y0 + k * (truth.y1 - truth.y0) // 5
        band[y0 : truth.y0 + (k + 1) * (truth.y1 - truth.y0) // 5] = True
        x, y, _ = centre_click(Mask.from_full(full & band))
        inside.append((x, y))
    h, w = truth.shape
    x0, y0, x1, y1 = max(0, truth.x0 - 6), max(0, truth.y0 - 6), min(w - 1, truth.x1 + 5), min(h - 1, truth.y1 + 5)
    around = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return [Stroke(inside, positive=True, radius=3), Stroke(around, positive=False, radius=2)]


def test_scribbles_on_people(coco_people):
    scribbled = [segment("scribble", im, Prompt(strokes=_scribbles(truth))).iou(truth) for im, truth in coco_people]
    assert np.mean(scribbled) > 0.6
    cut = [segment("grabcut", im, Prompt(strokes=_scribbles(truth)[:1])).iou(truth) for im, truth in coco_people]
    assert np.mean(cut) > 0.5


def test_grabcut_box_alone_recovers_when_the_colour_models_collapse(coco_sample_val):
    """On coco_sample people GrabCut from the box alone often returns (almost) nothing; the tool then
    cuts again from the box centre and gets a usable mask."""
    from maskwork.core.interactive.grabcut import GrabCutParams, grabcut

    ds = load_coco(coco_sample_val)
    person = next(c.id for c in ds.classes if c.name == "person")
    unguarded, collapsed = GrabCutParams(min_keep=0.0), []
    for ann in ds.annotations:
        people = [i.mask for i in ann.corrected.instances
                  if i.class_id == person and not i.iscrowd and i.mask.area > 1000]
        image = read_image(coco_sample_val.parent / "val2017" / ann.file_name) if people else None
        for truth in people:
            if grabcut(image, Prompt(box=box_of(truth)), unguarded).iou(truth) < 0.02:
                collapsed.append((image, truth))
    assert len(collapsed) >= 5
    recovered = [segment("grabcut", image, Prompt(box=box_of(truth))).iou(truth) for image, truth in collapsed]
    assert np.mean(recovered) > 0.25


def test_same_prompt_same_mask(coco_people):
    image, truth = coco_people[1]
    prompt = Prompt(box=box_of(truth), points=[centre_click(truth)])
    assert segment("grabcut", image, prompt) == segment("grabcut", image, prompt)


# ---- work stays in a window around the prompt ----------------------------------------------------
def _big_scene(image: np.ndarray, at: tuple[int, int]) -> np.ndarray:
    """8000 x 6000 image: the real image at `at` over a tiling of its own flipped copy."""
    h, w = image.shape[:2]
    big = np.tile(image[::-1, ::-1], (6000 // h + 1, 8000 // w + 1, 1))[:6000, :8000].copy()
    big[at[1] : at[1] + h, at[0] : at[0] + w] = image
    return big


def _shift(prompt: Prompt, dx: int, dy: int) -> Prompt:
    box = None if prompt.box is None else (prompt.box[0] + dx, prompt.box[1] + dy, prompt.box[2] + dx,
                                           prompt.box[3] + dy)
    strokes = [Stroke([(x + dx, y + dy) for x, y in s.points], s.positive, s.radius) for s in prompt.strokes]
    return Prompt(box=box, points=[(x + dx, y + dy, p) for x, y, p in prompt.points], strokes=strokes,
                  tolerance=prompt.tolerance)


REACH = 1700  # no tool looks farther than this from its prompt (the wand's largest window is +-1536)


@pytest.mark.parametrize("tool", WEIGHT_FREE)
def test_prompt_on_a_48mp_image_equals_prompt_on_a_crop(tool, nuclei):
    """A prompt on an 8000x6000 image gives the same mask as on a crop of +-1700 px around it, and
    repainting everything outside that crop changes nothing: only a window around the prompt is read."""
    image, truth = nuclei[3]
    dx, dy = 5000, 3000
    big = _big_scene(image, (dx, dy))
    prompt = _shift(Prompt(box=box_of(truth) if tool != "wand" else None, points=[centre_click(truth)]), dx, dy)
    on_big = segment(tool, big, prompt)
    x0, y0 = dx + truth.x0 - REACH, dy + truth.y0 - REACH
    crop = big[y0 : dy + truth.y1 + REACH, x0 : dx + truth.x1 + REACH]
    on_crop = segment(tool, crop, _shift(prompt, -x0, -y0))
    assert on_big.shape == (6000, 8000) and on_big.iou(Mask(6000, 8000, truth.x0 + dx, truth.y0 + dy, truth.crop)) > 0.5
    assert (on_big.x0, on_big.y0) == (on_crop.x0 + x0, on_crop.y0 + y0)
    assert np.array_equal(on_big.crop, on_crop.crop)
    big[:, : x0] = 0
    big[: y0] = 255
    assert segment(tool, big, prompt) == on_big


def _outline(truth: Mask) -> tuple[np.ndarray, np.ndarray]:
    """(outer contour points, distance of each pixel to the true outline) of a mask."""
    import cv2

    full = truth.to_full().astype(np.uint8)
    contour = max(cv2.findContours(full, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0], key=len).reshape(-1, 2)
    edge = cv2.morphologyEx(full, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    return contour, cv2.distanceTransform(1 - edge, cv2.DIST_L2, 3)


def test_snap_path_follows_real_boundaries(coco_people):
    """Between two points 60 px apart on people's outlines the path stays closer to the true outline
    than the straight segment between the points does."""
    snapped, straight = [], []
    for image, truth in coco_people[:4]:
        contour, edge_dist = _outline(truth)
        for k in range(0, len(contour) - 60, len(contour) // 6):
            p0, p1 = tuple(int(v) for v in contour[k]), tuple(int(v) for v in contour[k + 60])
            path = snap_path(image, p0, p1)
            assert path[0] == p0 and path[-1] == p1
            assert all(max(abs(a[0] - b[0]), abs(a[1] - b[1])) <= 1 for a, b in zip(path, path[1:]))  # 8-connected
            snapped.append(np.mean([edge_dist[y, x] for x, y in path]))
            n = max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1])) + 1
            xs, ys = (np.linspace(a, b, n).round().astype(int) for a, b in zip(p0, p1))
            straight.append(np.mean(edge_dist[ys, xs]))
    assert np.median(snapped) < 2.5
    assert np.mean(snapped) < 0.9 * np.mean(straight)


def test_snap_path_in_a_window_of_a_48mp_image(coco_people):
    image, truth = coco_people[0]
    contour, _ = _outline(truth)
    p0, p1 = tuple(int(v) for v in contour[0]), tuple(int(v) for v in contour[80])
    big = _big_scene(image, (4000, 2000))
    on_big = snap_path(big, (p0[0] + 4000, p0[1] + 2000), (p1[0] + 4000, p1[1] + 2000))
    crop = big[2000 - REACH : 2000 + image.shape[0] + REACH, 4000 - REACH : 4000 + image.shape[1] + REACH]
    on_crop = snap_path(crop, (p0[0] + REACH, p0[1] + REACH), (p1[0] + REACH, p1[1] + REACH))
    assert on_big == [(x + 4000 - REACH, y + 2000 - REACH) for x, y in on_crop]


# ---- unusable prompts: one sentence that says what to do -------------------------------------------
@pytest.mark.parametrize("tool, prompt, words", [
    ("grabcut", Prompt(), "box"),
    ("grabcut", Prompt(points=[(50, 50, False)]), "box"),
    ("wand", Prompt(), "click"),
    ("wand", Prompt(box=(10, 10, 60, 60)), "click"),
    ("scribble", Prompt(points=[(20, 20, False)]), "positive"),
    ("grabcut", Prompt(box=(10, 10, 11, 60)), "box"),
    ("grabcut", Prompt(box=(9000, 10, 9100, 60)), "outside"),
    ("wand", Prompt(points=[(5000, 5, True)]), "outside"),
    ("wand", Prompt(points=[(5, 5, True)], tolerance=1.5), "tolerance"),
    ("scribble", Prompt(strokes=[Stroke([], True)]), "stroke"),
    ("sharpie", Prompt(points=[(5, 5, True)]), "grabcut"),
])
def test_bad_prompt_gives_one_sentence(tool, prompt, words, nuclei):
    image = nuclei[0][0]
    with pytest.raises(InputError) as info:
        segment(tool, image, prompt)
    message = str(info.value)
    assert words in message and message.endswith(".") and ". " not in message[:-1]


def test_bad_image_is_refused():
    with pytest.raises(InputError, match="uint8 RGB"):
        segment("wand", np.zeros((50, 50), np.float32), Prompt(points=[(5, 5, True)]))


# ---- click simulator ------------------------------------------------------------------------------
def test_simulated_clicks(coco_people):
    _, truth = coco_people[0]
    empty = Mask.empty(truth.height, truth.width)
    x, y, positive = next_click(truth, empty)
    assert positive and truth.region(x, y, x + 1, y + 1)[0, 0]
    assert next_click(truth, truth) is None
    grown = Mask.from_full(np.pad(truth.to_full(), 0) | _box_full(truth, 40))
    x, y, positive = next_click(truth, grown)
    assert not positive and not truth.region(x, y, x + 1, y + 1)[0, 0] and grown.region(x, y, x + 1, y + 1)[0, 0]


def _box_full(truth: Mask, pad: int) -> np.ndarray:
    full = np.zeros(truth.shape, bool)
    full[max(0, truth.y0 - pad) : truth.y1 + pad, max(0, truth.x0 - pad) : truth.x1 + pad] = True
    return full


# ---- the segment command ------------------------------------------------------------------------------
def test_segment_command_writes_the_mask_png(tmp_path, coco_sample_val, coco_people):
    from maskwork.core.cli import run

    ds = load_coco(coco_sample_val)
    ann = max(ds.annotations, key=lambda a: max((i.mask.area for i in a.corrected.instances), default=0))
    truth = max(ann.corrected.instances, key=lambda i: i.mask.area).mask
    src = tmp_path / ann.file_name
    shutil.copy(coco_sample_val.parent / "val2017" / ann.file_name, src)
    x, y, _ = centre_click(truth)
    out = tmp_path / "mask.png"
    x0, y0, x1, y1 = box_of(truth)
    assert run(["segment", str(src), "--tool", "grabcut", "--box", f"{x0},{y0},{x1},{y1}",
                "--point", f"{x},{y},1", "--out", str(out)]) == 0
    png = Image.open(out)
    assert png.mode == "L" and png.size == (ann.width, ann.height)
    pixels = np.array(png)
    assert set(np.unique(pixels)) == {0, 255}
    expected = segment("grabcut", read_image(src), Prompt(box=(x0, y0, x1, y1), points=[(x, y, True)]))
    assert np.array_equal(pixels == 255, expected.to_full())
    assert Mask.from_full(pixels == 255).iou(truth) > 0.6


def test_segment_command_refuses_a_wand_without_a_click(tmp_path, nuclei_val, capsys):
    from maskwork.core.cli import run

    src = next((nuclei_val.parent / "images").glob("*.png"))
    assert run(["segment", str(src), "--tool", "wand", "--out", str(tmp_path / "m.png")]) == 2
    assert "click" in capsys.readouterr().err
    assert not (tmp_path / "m.png").exists()
