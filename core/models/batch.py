"""Predict many image files: decoding and preprocessing run in a thread pool ahead of the model."""
from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator

from maskwork.core.domain.errors import InputError
from maskwork.core.domain.progress import CancelToken, ProgressFn, check, report
from maskwork.core.models.input_fit import check_fits
from maskwork.core.models.predict import Predictor
from maskwork.core.models.results import Result
from maskwork.core.models.torch_models.preprocess import Prepared
from maskwork.core.store.images import read_image


def _load(predictor: Predictor, path: Path) -> Prepared:
    image = read_image(path)  # gray/RGBA/16-bit/EXIF handled there
    check_fits(predictor.spec.input, image.shape[0], image.shape[1], str(path))  # a 1x100000 strip: skipped
    return predictor.prepare(image, where=str(path))


def predict_batch(predictor: Predictor, paths: Iterable[str | Path], progress: ProgressFn | None = None,
                  cancel: CancelToken | None = None, score_threshold: float = 0.5, mask_threshold: float = 0.5,
                  prefetch: int = 2, errors: list | None = None) -> Iterator[tuple[Path, Result]]:
    """Yield (path, result) in input order, one at a time.

    Up to `prefetch` images are decoded ahead in background threads while the model runs.
    A file that cannot be read raises InputError, or, when `errors` is a list, is recorded there as
    (path, message) and skipped. Cancelling stops before the next image; queued decodes are dropped.
    """
    files = [Path(p) for p in paths]
    total = len(files)
    queue: deque[tuple[Path, Future]] = deque()
    pool = ThreadPoolExecutor(max_workers=max(1, prefetch), thread_name_prefix="maskwork-decode")
    todo = iter(files)

    def submit_next() -> None:
        path = next(todo, None)
        if path is not None:
            queue.append((path, pool.submit(_load, predictor, path)))

    try:
        for _ in range(max(1, prefetch)):
            submit_next()
        done = 0
        report(progress, 0, total, "")
        while queue:
            check(cancel)
            path, future = queue.popleft()
            submit_next()
            try:
                prepared = future.result()
            except InputError as exc:
                if errors is None:
                    raise
                errors.append((path, str(exc)))
                done += 1
                report(progress, done, total, f"skipped {path.name}")
                continue
            result = predictor.run(prepared, score_threshold, mask_threshold, cancel)
            done += 1
            report(progress, done, total, path.name)
            yield path, result
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
