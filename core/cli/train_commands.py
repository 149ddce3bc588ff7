"""`maskwork train` and `maskwork evaluate`.

    maskwork train --arch unet_small --data nuclei/train.json --val nuclei/val.json --epochs 20 --out my.pt
    maskwork train ... --out my.pt --resume          # continue from my.last.pt
    maskwork train --arch maskrcnn_resnet18_lite --data project/ --from nuclei-instance --out cells.pt
    maskwork evaluate --model nuclei-semantic --data nuclei/val.json [--per-image]
"""
from __future__ import annotations

import json
import sys

from maskwork.core.progress import CancelToken, TextProgress


def register(subparsers) -> None:
    from maskwork.core.models.architectures import ARCHITECTURES

    p = subparsers.add_parser("train", help="train a model on labelled images (COCO json, project, PNG folder)")
    p.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES), help="architecture to train")
    p.add_argument("--data", required=True, help="COCO .json, Maskwork project folder, or folder with images/ masks/")
    p.add_argument("--val", help="validation data (same kinds); default: hold out --val-fraction of --data")
    p.add_argument("--val-names", nargs="+", help="hold out these images (names or prefixes, e.g. tile7_)")
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--steps-per-epoch", type=int, help="default: one pass over the training images")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--crop", type=int, default=256, help="training crop size in pixels")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="best checkpoint; the resumable state goes to <out>.last.pt")
    p.add_argument("--resume", action="store_true", help="continue the run saved in <out>.last.pt")
    p.add_argument("--from", dest="init", help="start from a registry model or a checkpoint (heads are replaced "
                                               "when the class count differs)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--min-size", type=int, default=512, help="instance: shorter image side the model sees")
    p.add_argument("--max-size", type=int, default=1024, help="instance: longest image side the model sees")
    p.add_argument("--tile", type=int, default=512, help="semantic: tile size at inference")
    p.add_argument("--scale", type=float, default=1.0, help="semantic: image scale the model works at")
    p.add_argument("--max-minutes", type=float, help="stop (validated and saved) after this much training")
    p.set_defaults(func=cmd_train)

    e = subparsers.add_parser("evaluate", help="score a model against labelled images (mIoU or COCO mask AP)")
    e.add_argument("--model", required=True, help="registry model name or checkpoint file")
    e.add_argument("--data", required=True, help="COCO .json, Maskwork project folder, or folder with images/ masks/")
    e.add_argument("--per-image", action="store_true", help="also list one score per image")
    e.add_argument("--only", nargs="+", help="only these images (names or prefixes, e.g. tile7_)")
    e.add_argument("--max-images", type=int)
    e.add_argument("--device", default=None)
    e.add_argument("--int8", action="store_true", help="score the int8 model (compare with a float run)")
    e.add_argument("--calibration", metavar="DIR",
                   help="with --int8: calibrate on these images, kept apart from the scored ones "
                        "(default: 16 of the scored images)")
    e.add_argument("--json", action="store_true", help="print the table as JSON")
    from maskwork.core.cluster.options import add_engine_flags  # argparse only: Ray is imported when used

    add_engine_flags(e)
    e.set_defaults(func=cmd_evaluate)


def cmd_train(args) -> int:
    from maskwork.core.training.loop import TrainConfig, train

    cfg = TrainConfig(
        arch=args.arch, data=args.data, val=args.val, val_names=args.val_names, val_fraction=args.val_fraction,
        epochs=args.epochs, steps_per_epoch=args.steps_per_epoch, batch_size=args.batch_size, crop=args.crop,
        lr=args.lr, seed=args.seed, out=args.out, resume=args.resume, init=args.init, device=args.device,
        threads=args.threads, min_size=args.min_size, max_size=args.max_size, tile=args.tile, scale=args.scale,
        time_limit_s=args.max_minutes * 60 if args.max_minutes else None,
        command="maskwork " + " ".join(sys.argv[1:]))
    bar = TextProgress("train")

    def on_epoch(rec: dict) -> None:
        mark = " (best, saved)" if rec["best"] else ""
        print(f"\nepoch {rec['epoch']}: loss {rec['train_loss']:.4f}  {rec['metric']} {rec['value']:.4f}{mark}",
              file=sys.stderr)

    result = train(cfg, progress=bar, cancel=CancelToken(), on_epoch=on_epoch)
    print(f"{result.stopped}: best {result.metric} {result.best_value:.4f} at epoch {result.best_epoch}; "
          f"saved {result.out} (resume state {result.last_out})")
    return 0 if result.stopped != "cancelled" else 130


def cmd_evaluate(args) -> int:
    from maskwork.core.cluster.options import refuse_ray_flags_without_ray
    from maskwork.core.training.evaluate import evaluate

    refuse_ray_flags_without_ray(args)
    if args.engine == "ray":
        from maskwork.core.cluster.evaluate_job import evaluate_on_ray

        table = evaluate_on_ray(args)
    else:
        table = evaluate(args.model, args.data, per_image=args.per_image, progress=TextProgress("evaluate"),
                         device=args.device, max_images=args.max_images, only=args.only, int8=args.int8,
                         calibration=args.calibration)
    if args.json:
        print(json.dumps({"task": table.task, "model": table.model, "data": table.data, "summary": table.summary,
                          "mapping": table.mapping, "per_image": table.per_image}, indent=1, default=str))
    else:
        print(table.format())
    return 1 if table.summary.get("skipped_images") else 0
