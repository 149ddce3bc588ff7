"""The classes Ray Data runs in its actor pool (`map_batches`): the model is built once per actor.

A batch comes in as {"index": [...], "path": [...]} (image files to predict, or the names of the
dataset's images to evaluate) and goes out as {"index", "error", "payload"}: an empty error and the encoded result, or
the reason the image was skipped (unreadable file, a model failure on that image) and no payload.
"""
from __future__ import annotations

import pickle

import numpy as np


def _parcel(parcel_ref):
    import ray

    return ray.get(parcel_ref[0])  # a list around the ref: Ray Data hands it over as it is


def _rows(indices, errors: list, payloads: list) -> dict:
    return {"index": np.asarray(indices, np.int64), "error": np.asarray(errors, dtype=object),
            "payload": np.asarray(payloads, dtype=object)}


class PredictActor:
    """Predicts the images of a batch (read here, decoded ahead in a thread as in one process)."""

    def __init__(self, parcel_ref, options: dict) -> None:
        from maskwork.core.cluster.shipping import unpack

        self.predictor = unpack(_parcel(parcel_ref), options["device"], options["threads"])
        self.score_threshold = options["score_threshold"]
        self.mask_threshold = options["mask_threshold"]
        self.payload = options.get("payload", "result")  # core.cluster.codec.PAYLOADS: what the writer stores
        fit = options.get("fit")  # a project's (classes, task): results in its ids and task, as stored
        self.fit = None
        if fit is not None:
            from maskwork.core.domain.annotation import ClassList

            self.fit = (ClassList.from_list(fit[0]), fit[1])

    def __call__(self, batch: dict) -> dict:
        from maskwork.core.cluster.codec import PAYLOADS

        encode = PAYLOADS[self.payload][0]
        indices, paths = list(batch["index"]), [str(p) for p in batch["path"]]
        errors, payloads = [""] * len(paths), [b""] * len(paths)
        for pos, result, error in self._results(paths):
            if error:
                errors[pos] = error
                continue
            if self.fit is not None:
                from maskwork.core.models.cross_task import fit_result

                result = fit_result(result, self.fit[0], self.fit[1], "ignore")[0]
            payloads[pos] = encode(result, self.predictor.classes)
        return _rows(indices, errors, payloads)

    def _results(self, paths: list[str]):
        """(position, result, "") or (position, None, why) for every path, in order. predict_batch goes
        in order and either yields an image's result or records why it skipped it, so the records
        not yet passed on belong to the positions before the next result. An image that makes the
        model itself fail is reported like an unreadable one and the batch goes on after it."""
        from maskwork.core.models.batch import predict_batch

        start = 0
        while start < len(paths):
            errors: list = []
            seen, pos = 0, start
            try:
                for _, result in predict_batch(self.predictor, paths[start:], score_threshold=self.score_threshold,
                                               mask_threshold=self.mask_threshold, errors=errors):
                    for _, message in errors[seen:]:
                        yield pos, None, message
                        pos += 1
                    seen = len(errors)
                    yield pos, result, ""
                    pos += 1
            except Exception as exc:  # noqa: BLE001 - one image must not stop the run; reported per image
                for _, message in errors[seen:]:
                    yield pos, None, message
                    pos += 1
                yield pos, None, f"the model failed on this image ({type(exc).__name__}: {str(exc)[:300]})"
                start = pos + 1
                continue
            for _, message in errors[seen:]:
                yield pos, None, message
                pos += 1
            return


class EvaluateActor:
    """Scores the images of a batch against their labels: confusion counts (semantic), or ground truth
    and detections as COCO records (instance). The data is opened here, by name, from a shared path."""

    def __init__(self, parcel_ref, options: dict) -> None:
        from maskwork.core.cluster.shipping import unpack
        from maskwork.core.models.class_map import ClassMap
        from maskwork.core.training.datasets import load_data

        self.predictor = unpack(_parcel(parcel_ref), options["device"], options["threads"])
        data = load_data(options["data"], self.predictor.task)
        self.items = {it.name: it for it in data.items}
        self.cmap = ClassMap(self.predictor.classes, data.classes)
        self.num_classes = options["num_classes"]

    def __call__(self, batch: dict) -> dict:
        from maskwork.core.domain.errors import InputError

        indices, names = list(batch["index"]), [str(n) for n in batch["path"]]  # the dataset's image names
        errors, payloads = [""] * len(names), [b""] * len(names)
        for pos, (index, name) in enumerate(zip(indices, names)):
            try:
                payloads[pos] = pickle.dumps(self._score(int(index), self.items[name]), protocol=5)
            except InputError as exc:
                errors[pos] = str(exc)
            except Exception as exc:  # noqa: BLE001 - reported per image, the run goes on
                errors[pos] = f"the model failed on this image ({type(exc).__name__}: {str(exc)[:300]})"
        return _rows(indices, errors, payloads)

    def _score(self, index: int, item):
        from maskwork.core.training import evaluate as ev
        from maskwork.core.training.instance import gt_records

        if self.predictor.task == "semantic":
            return ev.semantic_confusion(self.predictor, item, self.cmap, self.num_classes)
        img_id = index + 1  # the single-process numbering: position in the evaluated list, from 1
        return gt_records(img_id, item), ev.instance_detections(self.predictor, img_id, item, self.cmap)


class CompareActor:
    """Both models of a comparison (`compare --engine ray`): a task's index says which model (index // images)
    and its path names the image in the data, which is opened here as core.comparison.data opens it. The
    payload is core.comparison.runs.predict_one's record, the one the local engine caches."""

    def __init__(self, parcel_ref, options: dict) -> None:
        from maskwork.core.cluster.shipping import unpack
        from maskwork.core.comparison.data import load_compare_data
        from maskwork.core.domain.annotation import ClassList
        from maskwork.core.models.class_map import ClassMap

        self.predictors = [unpack(p, options["device"], options["threads"]) for p in _parcel(parcel_ref)]
        data = load_compare_data(options["data"], options["task"], ClassList.from_list(options["classes"]))
        self.items = {it.name: it for it in data.items}
        self.cmaps = [ClassMap(p.classes, data.classes) for p in self.predictors]
        self.task, self.images = options["task"], options["images"]

    def __call__(self, batch: dict) -> dict:
        from maskwork.core.comparison.runs import predict_one
        from maskwork.core.domain.errors import InputError

        indices, names = list(batch["index"]), [str(n) for n in batch["path"]]
        errors, payloads = [""] * len(names), [b""] * len(names)
        for pos, (index, name) in enumerate(zip(indices, names)):
            side = int(index) // self.images
            try:
                rgb = self.items[name].image()
                found = predict_one(self.task, self.predictors[side], self.cmaps[side], rgb)
                payloads[pos] = pickle.dumps(found, protocol=5)
            except InputError as exc:
                errors[pos] = str(exc)
            except Exception as exc:  # noqa: BLE001 - reported per image, the run goes on
                errors[pos] = f"the model failed on this image ({type(exc).__name__}: {str(exc)[:300]})"
        return _rows(indices, errors, payloads)
