"""Tune a bundled semantic model's class decision offsets for mean IoU on its own training images
(core/training/calibrate.py) and save it in place; the training record keeps what was tuned and the command.

    python tools/calibrate_bundled.py nuclei-semantic
    python tools/calibrate_bundled.py aerial-landcover

The validation images are not used (the model card scores them afterwards: tools/model_card.py). Running it twice
finds offsets of 0 the second time: the first run's are already in the model.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from maskwork.core.domain.annotation import ClassList  # noqa: E402
from maskwork.core.models.torch_models.architectures import get_architecture  # noqa: E402
from maskwork.core.models.torch_models.checkpoint import read_checkpoint, save_checkpoint  # noqa: E402
from maskwork.core.training import calibrate  # noqa: E402
from maskwork.core.training.datasets import from_coco, from_png_folder, split_by_names  # noqa: E402
from maskwork.core.training.schedule import CALIBRATE_IMAGES  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"
# name -> its training images (never its validation images)
TRAINING = {
    "nuclei-semantic": lambda: from_coco(DATA / "nuclei" / "train.json", task="semantic"),
    "aerial-landcover": lambda: split_by_names(from_png_folder(DATA / "aerial"), ["tile7_"])[0],
}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=sorted(TRAINING))
    ap.add_argument("--images", type=int, default=CALIBRATE_IMAGES)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.images < calibrate.MIN_IMAGES:
        ap.error(f"--images {args.images}: give at least {calibrate.MIN_IMAGES} (calibrate.MIN_IMAGES)")
    torch.set_num_threads(1)
    path = ROOT / "resources" / "models" / f"{args.name}.pt"
    ckpt = read_checkpoint(path)
    classes = ClassList.from_list(ckpt["classes"])
    model = get_architecture(ckpt["arch"]).build(max(classes.ids()) + 1)
    model.load_state_dict(ckpt["state_dict"])
    data = TRAINING[args.name]()
    items = calibrate.calibration_items(data.items, args.images, args.seed)
    spec = ckpt.get("input") or {}
    record = calibrate.tune(model, ckpt["arch"], items, int(spec.get("tile", 512)), float(spec.get("scale", 1.0)),
                            data.ignore_index, args.seed)
    record["command"] = "python " + " ".join(sys.argv)
    print(json.dumps(record))
    training = dict(ckpt.get("training") or {})
    training["calibration"] = training.get("calibration", []) + [record]
    save_checkpoint(path, arch=ckpt["arch"], task=ckpt["task"], classes=classes,
                    state_dict={k: v.detach().cpu() for k, v in model.state_dict().items()}, training=training,
                    input_spec=spec, extra=ckpt.get("extra") or {})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
