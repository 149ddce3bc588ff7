"""`maskwork train` and `maskwork evaluate`.

    maskwork train --arch unet_small --data nuclei/train.json --val nuclei/val.json --epochs 20 --out my.pt
    maskwork train ... --out my.pt --resume          # continue from my.last.pt
    maskwork train --arch maskrcnn_resnet18_lite --data project/ --from nuclei-instance --out cells.pt

Unset flags take the schedule core.training.schedule gives (the train dialog's too): with --from a gentle
fine-tune at the start model's input size that keeps the start model unless an epoch beats it.
    maskwork evaluate --model nuclei-semantic --data nuclei/val.json [--per-image]
"""
from __future__ import annotations

import json
import sys

from maskwork.core.domain.progress import CancelToken, TextProgress


def register(subparsers) -> None:
    from maskwork.core.models.torch_models.architectures import ARCHITECTURES

    p = subparsers.add_parser("train", help="train a model on labelled images (COCO json, project, PNG folder)")
    p.add_argument("--arch", required=True, choices=sorted(ARCHITECTURES), help="architecture to train")
    p.add_argument("--data", required=True, help="COCO .json, Maskwork project folder, or folder with images/ masks/")
    p.add_argument("--val", help="validation data (same kinds); default: hold out --val-fraction of --data")
    p.add_argument("--val-names", nargs="+", help="hold out these images (names or prefixes, e.g. tile7_)")
    p.add_argument("--val-fraction", type=float, default=0.15)
    p.add_argument("--epochs", type=int, help="default: the schedule's (fine-tuning: 6 instance, 3 semantic; "
                                                       "12-20 from scratch)")
    p.add_argument("--steps-per-epoch", type=int, help="default: one pass over the training images, at least the "
                                                       "schedule's 20-60 batches")
    p.add_argument("--batch-size", type=int, help="default: the schedule's (4; 8 fine-tuning a semantic model)")
    p.add_argument("--crop", type=int, help="training crop size in pixels (default: the schedule's, 256; 128 "
                                            "fine-tuning a semantic model)")
    p.add_argument("--lr", type=float, help="default: the schedule's (2e-5 or 1e-5 fine-tuning)")
    p.add_argument("--no-replay", action="store_true", help="fine-tuning a bundled model: do not mix in images it "
                                                            "was trained on (resources/replay)")
    p.add_argument("--no-guard", action="store_true", help="fine-tuning a bundled model: keep an epoch that beats it "
                                                           "on the held-out images even if it falls on the images of "
                                                           "its guard set (resources/replay/nuclei-guard)")
    p.add_argument("--calibrate-images", type=int, metavar="N",
                   help="semantic: before each score, tune the class decision offsets for mean IoU on up to N "
                        "training images and keep them in the model (default: the schedule's, 48; 0: off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="best checkpoint; the resumable state goes to <out>.last.pt")
    p.add_argument("--resume", action="store_true", help="continue the run saved in <out>.last.pt")
    p.add_argument("--from", dest="init", help="start from a registry model or a checkpoint (heads are replaced "
                                               "when the class count differs)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto")
    p.add_argument("--threads", type=int, help="CPU threads for torch")
    p.add_argument("--min-size", type=int, help="instance: shorter image side the model sees (default: the "
                                                "--from model's, else 512)")
    p.add_argument("--max-size", type=int, help="instance: longest image side the model sees (default: as above, "
                                                "else 1024)")
    p.add_argument("--tile", type=int, help="semantic: tile size at inference (default: the --from model's, else 512)")
    p.add_argument("--scale", type=float, help="semantic: image scale the model works at (default: as above, else 1)")
    p.add_argument("--accept-worse", action="store_true", help="with --from: save the best fine-tuned epoch even "
                                                               "when it scores below the start model")
    p.add_argument("--train-bn", action="store_true", help="with --from: train the BatchNorm layers; their "
                                                           "statistics stay the start model's, moved by what the "
                                                           "weights change (default: kept as they are)")
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


def config_from_args(args):
    """The TrainConfig of `maskwork train`: the schedule's settings (core.training.schedule), then the flags given."""
    from maskwork.core.models.torch_models.architectures import get_architecture
    from maskwork.core.training.loop import TrainConfig
    from maskwork.core.training.schedule import settings

    given = {"epochs": args.epochs, "steps_per_epoch": args.steps_per_epoch, "batch_size": args.batch_size,
             "crop": args.crop, "lr": args.lr, "min_size": args.min_size, "max_size": args.max_size,
             "tile": args.tile, "scale": args.scale, "keep_start": False if args.accept_worse else None,
             "freeze_bn": False if args.train_bn else None, "replay_share": 0.0 if args.no_replay else None,
             "guard": False if args.no_guard else None, "calibrate_images": args.calibrate_images}
    return TrainConfig(
        arch=args.arch, data=args.data, val=args.val, val_names=args.val_names, val_fraction=args.val_fraction,
        seed=args.seed, out=args.out, resume=args.resume, init=args.init, device=args.device, threads=args.threads,
        time_limit_s=args.max_minutes * 60 if args.max_minutes else None,
        command="maskwork " + " ".join(sys.argv[1:]), **settings(get_architecture(args.arch).task, args.init, **given))


def cmd_train(args) -> int:
    from maskwork.core.training.loop import train

    cfg = config_from_args(args)
    bar = TextProgress("train")

    def on_epoch(rec: dict) -> None:
        guard = f", {rec['metric']} {rec['guard']:.4f} on the guard images" if rec.get("guard") is not None else ""
        if rec.get("baseline"):
            print(f"start model {cfg.init}: {rec['metric']} {rec['value']:.4f} on the validation images{guard} "
                  "(an epoch is saved only when it beats this" + (" and does not fall on the guard images, "
                                                                  "--no-guard leaves that out)" if guard else ")"),
                  file=sys.stderr)
            return
        mark = (" (best, saved)" if rec["best"] else
                " (fell on the guard images: not saved)" if rec.get("guarded") else "")
        tuned = rec.get("calibration")
        offsets = (f", decision offsets {tuned['offsets']} ({rec['metric']} {tuned['miou_before']:.4f} -> "
                   f"{tuned['miou_after']:.4f} on {tuned['images']} training images)"
                   if tuned and any(tuned["offsets"]) else "")
        print(f"\nepoch {rec['epoch']}: loss {rec['train_loss']:.4f}  {rec['metric']} {rec['value']:.4f}{guard}"
              f"{offsets}{mark}", file=sys.stderr)

    result = train(cfg, progress=bar, cancel=CancelToken(), on_epoch=on_epoch)
    for note in result.notes:
        print(note)
    if result.baseline is not None and not result.improved:
        print(f"{result.stopped}: no epoch beat the start model ({result.metric} {result.baseline:.4f}); "
              f"{result.out} holds the start model {cfg.init} unchanged (--accept-worse saves the best epoch anyway)")
    else:
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
