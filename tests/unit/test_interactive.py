"""Interactive tools (core/interactive) on real objects: sensible masks from realistic prompts, work
confined to a window around the prompt, one-sentence errors for unusable prompts, the `segment` CLI."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from core.errors import InputError
from core.images import read_image
from core.interactive import TOOLS, Prompt, Stroke, segment, snap_path
from core.interactive.clicks import box_of, next_click, simulate
from core.io.coco import load_coco
from core.masks import Mask


# ---- real objects ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def coco_people(coco_sample_val):
    """(image, mask) of the coco_sample val people above 5000 px, largest first (at most 6)."""
    ds = load_coco(coco_sample_val)
    person = next(c.id for c in ds.classes if c.name == "person")
    found = []
    for ann in ds.annotations:
        for inst in ann.corrected.instances:
            if inst.class_id == person and not inst.iscrowd and inst.mask.area > 5000:
                found.append((coco_sample_val.parent / "val2017" / ann.file_name, inst.mask))
    found.sort(key=lambda f: -f[1].area)
    return [(read_image(path), mask) for path, mask in found[:6]]


@pytest.fixture(scope="module")
def nuclei(nuclei_val):
    """(image, mask) of 12 nuclei above 150 px from the first fluorescence images of nuclei val."""
    ds = load_coco(nuclei_val)
    out = []
    for ann in ds.annotations:
        image = read_image(nuclei_val.parent / "images" / ann.file_name)
        for inst in ann.corrected.instances[::7]:
            if inst.mask.area > 150 and len(out) < 12:
                out.append((image, inst.mask))
        if len(out) >= 12:
            return out
    return out


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
    assert mean_iou("wand", nuclei, with_box=False, clicks=1) > 0.70


def test_wand_tolerance_grows_the_region(nuclei):
    image, truth = nuclei[0]
    x, y, _ = centre_click(truth)
    areas = [segment("wand", image, Prompt(points=[(x, y, True)], tolerance=t)).area for t in (0.05, 0.5, 1.0)]
    assert areas[0] < areas[1] <= areas[2]


def test_scribble_box_and_clicks(coco_people, nuclei):
    assert mean_iou("scribble", nuclei, with_box=True, clicks=1) > 0.70
    assert mean_iou("scribble", coco_people, with_box=True, clicks=5) > 0.75


def test_scribble_strokes_on_a_person(coco_people):
    image, truth = coco_people[0]
    x, y, _ = centre_click(truth)
    x0, y0, x1, y1 = box_of(truth)
    inside = Stroke([(x, y - 20), (x, y), (x, y + 20)], positive=True, radius=3)
    around = Stroke([(x0 - 5, y0 - 5), (x1 + 5, y0 - 5), (x1 + 5, y1 + 5)], positive=False, radius=3)
    mask = segment("scribble", image, Prompt(strokes=[inside, around]))
    assert mask.iou(truth) > 0.5
    grab = segment("grabcut", image, Prompt(box=(x0, y0, x1, y1), strokes=[inside]))
    assert grab.iou(truth) > 0.6


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
    return Prompt(box=box, points=[(x + dx, y + dy, p) for x, y, p in prompt.points],
                  strokes=[Stroke([(x + dx, y + dy) for x, y in s.points], s.positive, s.radius) for s in prompt.strokes],
                  tolerance=prompt.tolerance)


@pytest.mark.parametrize("tool", sorted(t for t, s in TOOLS.items() if "model" not in s.needs))  # SAM: whole image
def test_prompt_on_a_48mp_image_equals_prompt_on_the_crop(tool, nuclei):
    """The mask on an 8000x6000 image equals the mask on the small image, shifted: nothing outside
    the window around the prompt is read, so changing those pixels changes nothing."""
    image, truth = nuclei[3]
    small = Prompt(box=box_of(truth) if tool != "wand" else None, points=[centre_click(truth)])
    dx, dy = 5000, 3000
    big = _big_scene(image, (dx, dy))
    on_small = segment(tool, image, small)
    on_big = segment(tool, big, _shift(small, dx, dy))
    assert on_big.shape == (6000, 8000) and not on_small.is_empty
    assert (on_big.x0, on_big.y0) == (on_small.x0 + dx, on_small.y0 + dy)
    assert np.array_equal(on_big.crop, on_small.crop)
    big[:, : dx - 1] = 0  # everything left of the pasted image: far outside any window
    assert segment(tool, big, _shift(small, dx, dy)) == on_big


def test_snap_path_follows_a_real_boundary(coco_people):
    """Between two points of a person's outline the path stays near the true boundary, closer than
    the straight segment between the points does."""
    import cv2

    image, truth = coco_people[0]
    full = truth.to_full().astype(np.uint8)
    contour = max(cv2.findContours(full, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[0], key=len).reshape(-1, 2)
    edge_dist = cv2.distanceTransform(1 - (cv2.morphologyEx(full, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))),
                                      cv2.DIST_L2, 3)
    snapped, straight = [], []
    for k in range(0, len(contour) - 60, len(contour) // 8):
        p0, p1 = tuple(int(v) for v in contour[k]), tuple(int(v) for v in contour[k + 60])
        path = snap_path(image, p0, p1)
        assert path[0] == p0 and path[-1] == p1
        assert all(max(abs(a[0] - b[0]), abs(a[1] - b[1])) <= 1 for a, b in zip(path, path[1:]))  # 8-connected
        snapped.append(np.mean([edge_dist[y, x] for x, y in path]))
        n = max(abs(p1[0] - p0[0]), abs(p1[1] - p0[1])) + 1
        line = zip(np.linspace(p0[0], p1[0], n).round().astype(int), np.linspace(p0[1], p1[1], n).round().astype(int))
        straight.append(np.mean([edge_dist[y, x] for x, y in line]))
    assert np.mean(snapped) < 3.0
    assert np.mean(snapped) < np.mean(straight)


def test_snap_path_in_a_window_of_a_48mp_image(coco_people):
    image, truth = coco_people[0]
    p0, p1 = (truth.x0 + 10, truth.y0 + 10), (truth.x1 - 10, truth.y0 + 40)
    big = _big_scene(image, (4000, 2000))
    shifted = snap_path(big, (p0[0] + 4000, p0[1] + 2000), (p1[0] + 4000, p1[1] + 2000))
    assert shifted == [(x + 4000, y + 2000) for x, y in snap_path(image, p0, p1)]


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
    from core.cli import run

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
    from core.cli import run

    src = next((nuclei_val.parent / "images").glob("*.png"))
    assert run(["segment", str(src), "--tool", "wand", "--out", str(tmp_path / "m.png")]) == 2
    assert "click" in capsys.readouterr().err
    assert not (tmp_path / "m.png").exists()
