"""Small real training sets for the training/evaluation tests: crops of the shared datasets in tmp_path."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils


def small_aerial(aerial_dir: Path, dest: Path, names=("tile1_001", "tile2_001", "tile7_001"), size=96) -> Path:
    """images/ + masks/ + classes.json with the top-left `size` px of a few aerial images."""
    (dest / "images").mkdir(parents=True)
    (dest / "masks").mkdir()
    shutil.copy(aerial_dir / "classes.json", dest / "classes.json")
    for n in names:
        img = Image.open(aerial_dir / "images" / f"{n}.jpg").convert("RGB")
        lab = Image.open(aerial_dir / "masks" / f"{n}.png")
        box = (100, 100, 100 + size, 100 + size)  # skip the black border of the tiles
        img.crop(box).save(dest / "images" / f"{n}.png")
        lab.crop(box).save(dest / "masks" / f"{n}.png")  # palette mode kept: values are class ids
    return dest


def small_nuclei(coco_json: Path, dest: Path, count: int = 3, size: int = 96) -> Path:
    """A COCO file with `count` nuclei images cropped to `size` px (masks cropped and re-encoded)."""
    src = json.loads(coco_json.read_text())
    img_dir = coco_json.parent / "images"
    (dest / "images").mkdir(parents=True)
    by_img: dict[int, list] = {}
    for a in src["annotations"]:
        by_img.setdefault(a["image_id"], []).append(a)
    images, anns = [], []
    for info in sorted(src["images"], key=lambda i: i["id"]):
        if len(images) == count:
            break
        if len(by_img.get(info["id"], [])) < 5:
            continue
        new_id = len(images) + 1
        kept = []
        for a in by_img[info["id"]]:
            full = mask_utils.decode(mask_utils.frPyObjects(a["segmentation"], info["height"], info["width"])
                                     if isinstance(a["segmentation"]["counts"], list) else a["segmentation"])
            crop = np.asfortranarray(full[:size, :size])
            if crop.sum() < 4:
                continue
            rle = mask_utils.encode(crop)
            kept.append({"image_id": new_id, "category_id": 1, "iscrowd": 0,
                         "segmentation": {"size": rle["size"], "counts": rle["counts"].decode()},
                         "area": float(mask_utils.area(rle)), "bbox": [float(v) for v in mask_utils.toBbox(rle)]})
        if len(kept) < 5:  # want several nuclei inside the crop
            continue
        for a in kept:
            anns.append({"id": len(anns) + 1, **a})
        img = Image.open(img_dir / info["file_name"]).convert("RGB").crop((0, 0, size, size))
        img.save(dest / "images" / info["file_name"])
        images.append({"id": new_id, "file_name": info["file_name"], "width": size, "height": size})
    out = dest / "nuclei.json"
    out.write_text(json.dumps({"images": images, "annotations": anns, "categories": src["categories"]}))
    return out
