"""Where `predict --engine ray` puts results, as they arrive on the driver (one table row per output).

- ProjectWriter: each image's prediction layer in a Maskwork project, saved by the project store's own
  atomic writer after every batch; the resume key goes into prediction_info.run_key.
- CocoWriter: an instance model's COCO JSON: each result appended to a progress log beside it
  (core.cluster.ledger), the JSON assembled from the log at the end, in input order.
- PngWriter: a semantic model's palette PNGs, written as they arrive, plus the progress log.

Every writer: `PAYLOAD` (what its actors send: core.cluster.codec.PAYLOADS), `done(tasks)` (indices whose
stored key matches: a rerun skips them), `write(rows)` (a batch of (task, decoded payload)), `finish()`
(the final file(s); a line for the user), `close()`.
"""
from __future__ import annotations

from pathlib import Path

from maskwork.core.cluster.ledger import Ledger
from maskwork.core.domain.annotation import PredictionInfo
from maskwork.core.domain.errors import InputError
from maskwork.core.formats.prediction_files import coco_target, predicted_annotation, unique_stem, write_coco
from maskwork.core.store.schemas import AnnotationFile, load_json


class ProjectWriter:
    PAYLOAD = "result"

    def __init__(self, project, info: PredictionInfo) -> None:
        self.project, self.info = project, info

    def _stored(self, name: str, dirty: set[str]) -> dict | None:
        """The prediction_info on disk (or of unsaved recovered work) without decoding any mask."""
        p = self.project
        if name in dirty:
            ann = p.annotation(name)
            return None if ann.prediction_info is None else vars(ann.prediction_info)
        path = p.annotation_path(name)
        if not path.is_file():
            return None
        try:
            return load_json(path, AnnotationFile).get("prediction_info")
        except (OSError, InputError):
            return None  # damaged: predict it again (the save reports what is wrong if it still is)

    def done(self, tasks) -> set[int]:
        found, dirty = set(), set(self.project.dirty)
        for t in tasks:
            info = self._stored(t.name, dirty)
            if info and info.get("run_key") == t.key and info.get("score_threshold") == self.info.score_threshold:
                found.add(t.index)
        return found

    def write(self, rows) -> list[tuple]:
        """Store and save a batch; returns (task, message) of images that could not be stored."""
        from maskwork.core.models.prediction_layer import store_prediction

        failed, names = [], []
        for task, result in rows:
            try:
                ann = self.project.annotation(task.name)
                store_prediction(ann, result, self.info.model, self.info.int8, float(self.info.score_threshold or 0.0))
            except InputError as exc:  # a damaged annotation file, an image whose size changed on disk
                failed.append((task, str(exc)))
                continue
            ann.prediction_info.run_key = task.key
            self.project.mark_dirty(task.name)
            names.append(task.name)
        if names:
            self.project.save(names)
        return failed

    def finish(self, tasks) -> str:
        self.project.save([])  # project.json (classes added with --unknown-classes add)
        p = self.project
        return f"stored predictions in {p.root} ({p.task} project, {len(p.classes)} classes)"

    def close(self) -> None:
        pass


class _LoggedFiles:
    """A progress log beside the output: which image files are done (by path), under which key."""

    def __init__(self, log_path: Path) -> None:
        self.ledger = Ledger(log_path)
        self.records = self.ledger.read()

    def _matches(self, task) -> bool:
        rec = self.records.get(task.path)
        return rec is not None and rec.get("key") == task.key

    def close(self) -> None:
        self.ledger.close()


class CocoWriter(_LoggedFiles):
    PAYLOAD = "layer"

    def __init__(self, out: Path, classes, info: PredictionInfo) -> None:
        self.target = coco_target(out)
        super().__init__(self.target.with_name(self.target.name + ".progress"))
        self.classes, self.info = classes, info

    def done(self, tasks) -> set[int]:
        return {t.index for t in tasks if self._matches(t)}

    def write(self, rows) -> list[tuple]:
        records = [{"path": t.path, "name": t.name, "key": t.key, **stored} for t, stored in rows]
        self.ledger.append(records)
        self.records.update((rec["path"], rec) for rec in records)
        return []

    def finish(self, tasks) -> str:
        from maskwork.core.store.annotation_json import decode_layer

        anns = []
        for t in tasks:  # input order, as the single-process command writes them
            if not self._matches(t):
                continue  # skipped (unreadable) images are not in the output
            rec = self.records[t.path]
            h, w = int(rec["height"]), int(rec["width"])
            layer = decode_layer(rec["layer"], h, w, f"{self.ledger.path} ({t.name})")
            anns.append(predicted_annotation(t.name, _Stored(layer, h, w, rec["latency_ms"]), self.info))
        write_coco(self.target, anns, self.classes, self.info)
        return f"wrote {self.target} (progress log {self.ledger.path.name} beside it: a rerun skips what it holds)"


class _Stored:
    """A result as the progress log keeps it: its layer at the run's threshold."""

    def __init__(self, layer, height: int, width: int, latency_ms: float) -> None:
        self.layer, self.height, self.width, self.latency_ms = layer, height, width, latency_ms

    def to_layer(self):
        return self.layer


class PngWriter(_LoggedFiles):
    LOG = ".maskwork-predict.progress"
    PAYLOAD = "png"

    def __init__(self, out: Path, classes, tasks) -> None:
        out.mkdir(parents=True, exist_ok=True)
        super().__init__(out / self.LOG)
        self.out, self.classes = out, classes
        used: set[str] = set()
        # by path: two inputs may share a name (a/x.png, b/x.png): x.png and x_2.png, as single-process
        self.stems = {t.path: unique_stem(t.name, used) for t in tasks}  # input order: stable across reruns

    def done(self, tasks) -> set[int]:
        return {t.index for t in tasks if self._matches(t) and (self.out / f"{self.stems[t.path]}.png").is_file()}

    def write(self, rows) -> list[tuple]:
        from maskwork.core.store.atomic import write_bytes_atomic

        for task, png in rows:  # each PNG is durable (atomic) before the log says it is done
            write_bytes_atomic(self.out / f"{self.stems[task.path]}.png", png)
        records = [{"path": t.path, "name": t.name, "key": t.key, "png": f"{self.stems[t.path]}.png"}
                   for t, _ in rows]
        self.ledger.append(records)
        self.records.update((rec["path"], rec) for rec in records)
        return []

    def finish(self, tasks) -> str:
        from maskwork.core.formats.png import write_classes_json

        write_classes_json(self.out / "classes.json", self.classes)
        return f"wrote {self.out}"
