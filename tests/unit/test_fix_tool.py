"""The "fix" tool (core/interactive/fix.py) on real objects: a rough mask of the kind a model gives gets better
with the simulated user's clicks, every click is obeyed, the result does not depend on the order the clicks were
cut in (the per-click cache), only a window is read, and bad input gets one sentence; `segment --tool fix`."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.interactive import Prompt, segment
from maskwork.core.interactive import fix as fix_module
from maskwork.core.interactive.clicks import next_click, simulate
from maskwork.core.interactive.mask_cut import cut_from_mask


def rough(truth: Mask, factor: int, missing: float = 0.0, shift: int = 0) -> Mask:
    """A model-like mask: the truth at 1/factor resolution upsampled (coarse prototypes, as YOLO's at 320 px),
    with the lowest `missing` share of the object cut off (legs a model missed), moved `shift` pixels right and
    down (a misaligned low-resolution head)."""
    full = truth.to_full().astype(np.float32)
    h, w = full.shape
    small = cv2.resize(full, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    back = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR) >= 0.5
    back[truth.y1 - int(missing * (truth.y1 - truth.y0)):] = False
    back = np.roll(back, (shift, shift), axis=(0, 1))
    return Mask.from_full(back)


def fixed(image: np.ndarray, start: Mask):
    return lambda p: segment("fix", image, Prompt(mask=start, points=list(p.points))) if p.points else start


def recut_at_once(image: np.ndarray, start: Mask):
    """The corrector before the fix tool: one cut from the start mask with all clicks as 5 px seeds."""
    def run(p: Prompt) -> Mask:
        seeds = np.zeros(image.shape[:2], np.uint8)
        for x, y, positive in p.points:
            cv2.circle(seeds, (int(x), int(y)), 5, 1 if positive else 2, -1)
        return cut_from_mask(image, Mask.from_full(start.to_full() | (seeds == 1)), seeds) if p.points else start
    return run


def test_clicks_take_back_the_legs_a_model_missed(coco_people):
    """Coarse person masks missing their lowest third: 3 clicks raise the mean IoU by > 0.08, and the fix tool
    beats re-cutting from the start with all clicks at once."""
    fix_curves, once_curves = [], []
    for image, truth in coco_people:
        start = rough(truth, 8, missing=0.3)
        fix_curves.append(simulate(fixed(image, start), truth, True, max_clicks=3))
        once_curves.append(simulate(recut_at_once(image, start), truth, True, max_clicks=3))
    start_iou, after = np.mean([c[0] for c in fix_curves]), np.mean([c[3] for c in fix_curves])
    assert after > start_iou + 0.08, (start_iou, after)
    assert after > np.mean([c[3] for c in once_curves]) + 0.03


def test_clicks_sharpen_a_coarse_nucleus(nuclei_objects):
    """Nuclei masks at 1/4 resolution moved by 3 px (a coarse, misaligned mask head): better after 3 clicks, and
    the 1-pixel seeds do not paint over the background as 5-pixel ones do."""
    fix_curves, once_curves = [], []
    for image, truth in nuclei_objects:
        start = rough(truth, 4, shift=3)
        fix_curves.append(simulate(fixed(image, start), truth, True, max_clicks=3))
        once_curves.append(simulate(recut_at_once(image, start), truth, True, max_clicks=3))
    assert np.mean([c[3] for c in fix_curves]) > np.mean([c[0] for c in fix_curves]) + 0.02
    assert np.mean([c[3] for c in fix_curves]) > np.mean([c[3] for c in once_curves])


def test_every_click_is_obeyed_and_the_cache_changes_nothing(coco_people):
    image, truth = coco_people[1]
    start = rough(truth, 8, missing=0.3)
    points, pred = [], start
    for _ in range(4):
        click = next_click(truth, pred)
        assert click is not None
        points.append(click)
        pred = segment("fix", image, Prompt(mask=start, points=list(points)))
        for x, y, positive in points:
            assert bool(pred.region(x, y, x + 1, y + 1)[0, 0]) == positive
    fix_module.clear_cache()  # the same clicks from scratch: cut one by one
    assert segment("fix", image, Prompt(mask=start, points=list(points))) == pred


def test_only_a_window_around_the_object_is_read(nuclei_objects):
    image, truth = nuclei_objects[3]
    start = rough(truth, 4)
    big = np.zeros((6000, 8000, 3), np.uint8)
    dx, dy = 5000, 3000
    big[dy : dy + image.shape[0], dx : dx + image.shape[1]] = image
    moved = Mask(6000, 8000, start.x0 + dx, start.y0 + dy, start.crop)
    click = next_click(truth, start)
    assert click is not None
    x, y, positive = click
    on_big = segment("fix", big, Prompt(mask=moved, points=[(x + dx, y + dy, positive)]))
    on_small = segment("fix", image, Prompt(mask=start, points=[click]))
    assert (on_big.x0 - dx, on_big.y0 - dy) == (on_small.x0, on_small.y0)
    assert np.array_equal(on_big.crop, on_small.crop)
    big[:, : dx - 200] = 255  # far from the object: never read
    assert segment("fix", big, Prompt(mask=moved, points=[(x + dx + 0, y + dy, positive)])) == on_big


@pytest.mark.parametrize("prompt, words", [
    (Prompt(points=[(20, 20, True)]), "select an object"),
    (Prompt(mask=Mask.from_full(np.ones((10, 10), bool)), points=[(5, 5, True)]), "give the mask made for"),
])
def test_bad_input_gives_one_sentence(prompt, words, nuclei_objects):
    with pytest.raises(InputError) as info:
        segment("fix", nuclei_objects[0][0], prompt)
    message = str(info.value)
    assert words in message and message.endswith(".")


def test_segment_command_fixes_a_mask_png(tmp_path, coco_people, capsys):
    from maskwork.core.cli import run

    image, truth = coco_people[0]
    src = tmp_path / "photo.png"
    Image.fromarray(image).save(src)
    start = rough(truth, 8, missing=0.3)
    start_png = tmp_path / "start.png"
    Image.fromarray(np.where(start.to_full(), 255, 0).astype(np.uint8), mode="L").save(start_png)
    x, y, positive = next_click(truth, start)
    out = tmp_path / "fixed.png"
    assert run(["segment", str(src), "--tool", "fix", "--mask", str(start_png),
                "--point", f"{x},{y},{int(positive)}", "--out", str(out)]) == 0
    pixels = np.array(Image.open(out)) == 255
    assert np.array_equal(pixels, segment("fix", image, Prompt(mask=start, points=[(x, y, positive)])).to_full())
    assert Mask.from_full(pixels).iou(truth) > start.iou(truth)
    # --mask belongs to the fix tool; an empty mask says what to give
    assert run(["segment", str(src), "--tool", "grabcut", "--box", "10,10,100,100", "--mask", str(start_png),
                "--out", str(tmp_path / "m.png")]) == 2
    assert "--tool fix" in capsys.readouterr().err
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros(image.shape[:2], np.uint8), mode="L").save(blank)
    assert run(["segment", str(src), "--tool", "fix", "--mask", str(blank), "--point", f"{x},{y},1",
                "--out", str(tmp_path / "m.png")]) == 2
    assert "no object pixels" in capsys.readouterr().err
    assert not (tmp_path / "m.png").exists()
    # the same mask saved in colour by an image editor (white on black, RGB or RGBA) is the same start
    for mode, white in (("RGB", (255, 255, 255)), ("RGBA", (255, 255, 255, 255))):
        colour = np.zeros((*image.shape[:2], len(mode)), np.uint8)
        colour[start.to_full()] = white
        colour_png = tmp_path / f"start-{mode}.png"
        Image.fromarray(colour, mode=mode).save(colour_png)
        again = tmp_path / f"fixed-{mode}.png"
        assert run(["segment", str(src), "--tool", "fix", "--mask", str(colour_png),
                    "--point", f"{x},{y},{int(positive)}", "--out", str(again)]) == 0
        assert np.array_equal(np.array(Image.open(again)) == 255, pixels)


def test_a_huge_object_is_fixed_at_a_working_size_and_kept_elsewhere(coco_people):
    """A person photographed at 6x the resolution (an 11 MP image, the object's window far above WORK_PIXELS):
    the click still helps, and every pixel farther than the click's reach keeps the object's own value."""
    image, truth = coco_people[0]
    big = cv2.resize(image, (image.shape[1] * 6, image.shape[0] * 6), interpolation=cv2.INTER_CUBIC)
    truth_big = Mask.from_full(cv2.resize(truth.to_full().astype(np.uint8), big.shape[1::-1],
                                          interpolation=cv2.INTER_NEAREST).astype(bool))
    start = rough(truth_big, 48, missing=0.3)
    click = next_click(truth_big, start)
    assert click is not None
    out = segment("fix", big, Prompt(mask=start, points=[click]))
    assert out.iou(truth_big) > start.iou(truth_big) + 0.02
    diag = float(np.hypot(start.x1 - start.x0, start.y1 - start.y0))
    yy, xx = np.ogrid[: big.shape[0], : big.shape[1]]
    far = (xx - click[0]) ** 2 + (yy - click[1]) ** 2 > (fix_module.LOCAL * diag + 2) ** 2
    assert np.array_equal(out.to_full()[far], start.to_full()[far])
