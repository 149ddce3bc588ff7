"""Make the replay set a fine-tune of a bundled nuclei model mixes into its batches (issue 23), so that training on
a few corrected images does not make the model forget what it learned: a fixed draw of the images the bundled
nuclei models were trained on (nuclei train.json, CC0), copied with their annotations into resources/replay/nuclei.
`--guard` makes the guard set beside it: 16 other training images (not in the replay set, seed 777; the draw
bench/bench_training_loop.py's guard measured) on which a fine-tuned epoch must not fall to be kept.

    python tools/make_replay_set.py            # 32 images, seed 12345 (what core.training.schedule replays)
    python tools/make_replay_set.py --guard    # 16 images, seed 777 -> resources/replay/nuclei-guard
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "datasets" / "nuclei"
REPLAY = ROOT / "resources" / "replay" / "nuclei"
GUARD = ROOT / "resources" / "replay" / "nuclei-guard"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--guard", action="store_true", help="the guard set: images outside the replay set")
    args = ap.parse_args()
    doc = json.loads((DATA / "train.json").read_text())
    with_objects = {a["image_id"] for a in doc["annotations"]}
    if args.guard:  # in the training file's order, as the bench drew them
        replayed = {i["file_name"] for i in json.loads((REPLAY / "annotations.json").read_text())["images"]}
        names = [i["file_name"] for i in doc["images"] if i["id"] in with_objects and i["file_name"] not in replayed]
        seed, n, out_dir = 777 if args.seed == 12345 else args.seed, 16 if args.images == 32 else args.images, GUARD
    else:
        names = sorted(i["file_name"] for i in doc["images"] if i["id"] in with_objects)
        seed, n, out_dir = args.seed, args.images, REPLAY
    args.out = args.out or out_dir
    chosen = set(random.Random(seed).sample(names, n))
    images = [i for i in doc["images"] if i["file_name"] in chosen]
    ids = {i["id"] for i in images}
    kind = "guard" if args.guard else "replay"
    out = {"info": {"description": f"Maskwork {kind} set: a fixed draw of the nuclei training images (DSB2018 stage1_"
                                   "train, CC0) for fine-tunes of the bundled nuclei models (tools/make_replay_set.py)",
                    "version": "1.0"},
           "licenses": doc.get("licenses", []), "images": images, "categories": doc["categories"],
           "annotations": [a for a in doc["annotations"] if a["image_id"] in ids]}
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    for image in images:
        shutil.copyfile(DATA / "images" / image["file_name"], args.out / "images" / image["file_name"])
    (args.out / "annotations.json").write_text(json.dumps(out, separators=(",", ":")))
    print(f"{len(images)} images, {len(out['annotations'])} objects -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
