"""Box-only objects: an instance whose mask is still empty and whose `box` (x, y, w, h) says where
the object is (a quick first pass, a detector's output, a COCO annotation with a bbox and no
segmentation). ADR 0013 says how they are stored, shown, exported and scored:

- stored as any instance (empty mask RLE + "box" in the store, crash journal and undo as usual);
- painting it gives it a mask (the brush writes its pixels and the box then follows the mask);
- COCO: "bbox" with "segmentation": [] and area w*h; read back the same way by core.formats.coco;
- mask scores (IoU, matching) leave it out: a box has no pixels to compare (core.metrics.box_objects).
"""
from __future__ import annotations

from maskwork.core.domain.annotation import Instance, Layer, Source
from maskwork.core.domain.errors import InputError
from maskwork.core.domain.masks import Mask
from maskwork.core.editing.records import InstancesEdit

MIN_SIDE = 2  # pixels: a smaller drag is a click, not a box


def is_box_only(inst: Instance) -> bool:
    return inst.mask.is_empty and inst.box is not None and inst.box[2] > 0 and inst.box[3] > 0


def box_from_corners(p0, p1, height: int, width: int) -> tuple[float, float, float, float] | None:
    """(x, y, w, h) of the pixels between two corner pixels, clipped to the image; None when it is
    smaller than MIN_SIDE on a side (after clipping)."""
    x0, x1 = sorted((int(p0[0]), int(p1[0])))
    y0, y1 = sorted((int(p0[1]), int(p1[1])))
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(width, x1 + 1), min(height, y1 + 1)  # the corner pixels are inside the box
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        return None
    return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def create_box_instance(layer: Layer, box, class_id: int, height: int, width: int,
                        label: str = "Box object") -> InstancesEdit:
    """Append a box-only object (next free id) as one undoable step; `edit.added_ids[0]` is its id."""
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise InputError(f"the box {box} does not lie inside the {width}x{height} image; draw it on the image.")
    inst = Instance(layer.next_instance_id(), int(class_id), Mask.empty(height, width), box=(x, y, w, h),
                    source=Source.PERSON)
    edit = InstancesEdit(label, removed=[], added=[(len(layer.instances), inst)])
    edit.redo(layer)
    return edit


def box_only_at(layer: Layer | None, x: int, y: int) -> Instance | None:
    """The smallest box-only object whose box holds pixel (x, y) (a click inside picks the inner one)."""
    if layer is None:
        return None
    hits = [(box, i) for i in layer.instances if (box := i.box) is not None and is_box_only(i)
            and box[0] <= x < box[0] + box[2] and box[1] <= y < box[1] + box[3]]
    smallest = min(hits, key=lambda hit: hit[0][2] * hit[0][3], default=None)
    return None if smallest is None else smallest[1]
