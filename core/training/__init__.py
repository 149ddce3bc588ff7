"""Training and evaluation (no Qt). Entry points:

- core.training.loop: `TrainConfig`, `train(config, progress, cancel, on_epoch) -> TrainResult`
- core.training.evaluate: `evaluate(model, data, per_image=False) -> EvalTable`
- core.training.datasets: `load_data(path)` (COCO json / Maskwork project / images+masks folder), splits
- core.training.augment, semantic, instance: per-task augmentation, batches, losses, validation metrics
"""
