"""Evaluate a bundled model on its full validation set and write its model card resources/models/<name>.md.

    python tools/model_card.py nuclei-semantic [--max-images N]

Numbers in the card come from this evaluation (core.training.evaluate through the app's Predictor)
and from the training record inside the checkpoint; nothing is typed by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MASKWORK_THREADS", "1")  # one thread is fastest on a busy machine

from maskwork.core.models.torch_models.checkpoint import read_checkpoint  # noqa: E402
from maskwork.core.training.datasets import from_coco, from_png_folder, split_by_names  # noqa: E402
from maskwork.core.training.evaluate import evaluate  # noqa: E402
from maskwork.core.training.schedule import MEASURED_GAIN  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets"

# name -> (validation data builder, data description, goal text, goal check on the summary); goals: issue 23
CARDS = {
    "nuclei-semantic": (
        lambda: from_coco(DATA / "nuclei" / "val.json", task="semantic"),
        "nuclei `train.json` (470 images) for training, `val.json` (100 images) for validation; COCO RLE "
        "instances rasterised to background/nucleus",
        "nucleus IoU >= 0.85 on val.json", lambda s: s["iou"].get("nucleus", 0) >= 0.85),
    "aerial-landcover": (
        lambda: split_by_names(from_png_folder(DATA / "aerial"), ["tile7_"])[1],
        "aerial tiles 1-6 (54 images) for training, tile 7 (9 images) held out for validation; "
        "class 0 'unlabeled' carries no loss and is not scored",
        "mean IoU over the 5 real classes >= 0.65 on tile 7", lambda s: s["miou"] >= 0.65),
    "nuclei-instance": (
        lambda: from_coco(DATA / "nuclei" / "val.json"),
        "nuclei `train.json` (470 images, 21,271 nuclei) for training, `val.json` (100 images, 4,056 nuclei) "
        "for validation",
        "mask AP50 >= 0.85 and AP >= 0.50 on val.json", lambda s: s["ap50"] >= 0.85 and s["ap"] >= 0.50),
}

EVAL_COMMAND = {
    "nuclei-semantic": "python main.py evaluate --model nuclei-semantic --data ../shared/datasets/nuclei/val.json",
    "aerial-landcover":
        "python main.py evaluate --model aerial-landcover --data ../shared/datasets/aerial --only tile7_",
    "nuclei-instance": "python main.py evaluate --model nuclei-instance --data ../shared/datasets/nuclei/val.json",
}

NEXT_STEPS = {
    "nuclei-semantic": "more epochs (the loss was still falling), full-size crops, a GPU",
    "aerial-landcover": "many more epochs on a GPU, larger crops for context, class-balanced sampling "
                        "(water and road are rare)",
    "nuclei-instance": "a GPU and 30-50 epochs (Mask R-CNN from scratch needs tens of thousands of steps), or "
                       "an ImageNet-pretrained ResNet18 backbone if weights can be shipped",
}


def _achieved(s: dict) -> str:
    """The numbers the goal is about, as reached on the full validation set."""
    if "ap50" in s:
        return f"AP50 {s['ap50']:.3f}, AP {s['ap']:.3f}"
    if "nucleus" in s.get("iou", {}):
        return f"nucleus IoU {s['iou']['nucleus']:.3f}"
    return f"mean IoU {s['miou']:.3f}"


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def measured_row(card: Path, label: str) -> str:
    """A row the benchmarks measured (latency: bench/bench_models.py) kept from the card being replaced."""
    old = card.read_text().splitlines() if card.is_file() else []
    return next((line for line in old if line.startswith(f"| {label} |")),
                f"| {label} | _to be filled by the quantization benchmark (bench/)_ |")


def calibration_lines(tr: dict) -> list[str]:
    """Rows for the decision offsets tuned after training (tools/calibrate_bundled.py), when there were any."""
    return [f"| decision offsets | {c['offsets']} added to the logits, tuned for mean IoU on {c['images']} training "
            f"images ({c['miou_before']:.4f} -> {c['miou_after']:.4f} there; `{c['command']}`, "
            "core/training/calibrate.py) |" for c in tr.get("calibration", [])]


def int8_row(name: str, path: Path, val, s: dict, max_images: int | None) -> str:
    """The int8 model's score on the same validation images beside the float one's (core.training.evaluate)."""
    q = evaluate(str(path), val, max_images=max_images, int8=True).summary
    return (f"| int8 accuracy | int8 {_achieved(q)} vs float {_achieved(s)} on the validation images "
            f"(`{EVAL_COMMAND[name]} --int8`) |")


def fine_tune_lines(name: str) -> list[str]:
    """The card's "Fine-tuning on your corrected images" section: the benchmark rows measured for this model."""
    rows = [m for m in MEASURED_GAIN if m.model == name]
    if not rows:
        return []
    lines = ["## Fine-tuning on your corrected images", "",
             "`maskwork train --from " + name + "` or the train dialog (core/training/schedule.py). Measured with "
             "bench/bench_training_loop.py (docs/BENCHMARKS.md \"Training on corrected images\"): the model "
             "fine-tuned on k corrected images, scored on the other images of the set, mean of the draws.", "",
             "| images, to the model | k | metric | before | after | change | draws |",
             "|---|---:|---|---:|---:|---:|---:|"]
    lines += [f"| {m.images} | {m.k} | {m.metric} | {m.before:.3f} | {m.after:.3f} | {m.after - m.before:+.3f} | "
              f"{m.seeds} |" for m in rows]
    return lines + [""]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("name", choices=sorted(CARDS))
    ap.add_argument("--max-images", type=int)
    args = ap.parse_args()
    path = ROOT / "resources" / "models" / f"{args.name}.pt"
    ckpt = read_checkpoint(path)
    tr = ckpt.get("training", {})
    build_val, data_text, goal, reached = CARDS[args.name]
    val = build_val()
    t0 = time.time()
    table = evaluate(str(path), val, max_images=args.max_images)
    eval_s = time.time() - t0
    s = {k: v for k, v in table.summary.items() if k != "confusion"}
    ok = reached(s)
    size_mb = path.stat().st_size / 1e6
    params = sum(v.numel() for k, v in ckpt["state_dict"].items() if v.is_floating_point())
    conf = tr.get("config", {})
    lines = [
        f"# {args.name}",
        "",
        f"Maskwork bundled model: `{ckpt['arch']}` ({ckpt['task']}), trained from scratch (no pretrained "
        "weights exist offline) with Maskwork's own training pipeline (core/training) on CPU.",
        "",
        "| | |", "|---|---|",
        f"| classes | {', '.join(c['name'] for c in ckpt['classes'])} |",
        f"| architecture | `{ckpt['arch']}`, {params / 1e6:.2f}M parameters |",
        f"| file | `{path.name}`, {size_mb:.1f} MB, float32 state dict |",
        f"| input (what the predictor must do) | `{json.dumps(ckpt.get('input', {}))}` |",
        f"| data | {data_text} |",
        f"| command | `{tr.get('command', '?')}` (settings in tools/train_bundled.py) |",
        f"| seed | {tr.get('seed')} |",
        *(["| run | continued from its .last.pt (`--resume`; `--epochs` extends a run whose planned epochs were "
            "done, at the low end of the cosine schedule); the first part ran without these two options |"]
          if "--resume" in tr.get("command", "") else []),
        *(["| run | a warm restart from the bundled weights before it (`--from-bundled`: the learning rate back up to "
           "the peak, then cosine down; their own training is in the git history of this card) |"]
          if "--from-bundled" in tr.get("command", "") else []),
        f"| training | {tr.get('epochs')} epochs x {conf.get('steps_per_epoch')} steps, "
        f"batch {conf.get('batch_size')}, "
        f"crop {conf.get('crop')} px, AdamW lr {conf.get('lr')} (warm-up, cosine), best epoch {tr.get('best_epoch')} |",
        f"| training time / machine | {tr.get('seconds', 0) / 60:.0f} min on {tr.get('machine', '?')}, shared with "
        f"other jobs (finished {tr.get('time', '?')}) |",
        f"| goal | {goal}: **{'reached' if ok else 'NOT reached'}** ({_achieved(s)}) |",
        *calibration_lines(tr),
        measured_row(path.with_suffix(".md"), "latency float / int8"),
        int8_row(args.name, path, val, s, args.max_images),
        "",
        f"## Validation ({table.summary['images']} images, full evaluation with `maskwork evaluate`, "
        f"{eval_s / 60:.1f} min)",
        "",
        f"Reproduce: `{EVAL_COMMAND[args.name]}`",
        "",
        "| metric | value |", "|---|---|",
    ]
    for k, v in s.items():
        if isinstance(v, dict):
            lines += [f"| IoU {n} | {x:.4f} |" for n, x in v.items()]
        elif k != "images":
            lines.append(f"| {k} | {_fmt(v)} |")
    if ckpt["task"] == "instance":
        lines += ["", "AP is COCOeval 'segm' (pycocotools) with maxDets 300: crowded images hold up to 375 nuclei."]
    lines += ["", "## Training curve (validation during training on a subset)", "",
              "| epoch | train loss | metric | value |", "|---|---|---|---|"]
    for r in tr.get("history", []):
        lines.append(f"| {r['epoch']} | {r['train_loss']:.4f} | {r['metric']} | {r['value']:.4f} |")
    lines += ["", *fine_tune_lines(args.name), "## Limits", ""]
    if not ok:
        lines.append(f"The goal ({goal}) was not reached in the time available (CPU only, 2 cores shared by the "
                     f"team). What would reach it: {NEXT_STEPS[args.name]}. Resume with "
                     f"`python tools/train_bundled.py {args.name} --resume --minutes N` (needs the /tmp .last.pt) or "
                     f"restart from these weights with `--from-bundled --minutes N`.")
    else:
        lines.append("Trained on the datasets above only; expect lower quality on other microscopes/stains or "
                     "other cities and resolutions. Fine-tune on your corrected images (maskwork train --from "
                     f"{args.name}).")
    path.chmod(0o644)  # checkpoints are written private (mkstemp); a shipped file must be readable
    out = path.with_suffix(".md")
    out.write_text("\n".join(lines) + "\n")
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
