"""Stream a list of images through an actor pool and hand each result to the driver as it arrives.

    outcome = stream(ray, tasks, stage, on_batch, progress, settings)

`stage(dataset)` adds the map_batches step; `on_batch(rows)` gets [(task, error, payload)] for images
seen for the first time (a result a retry delivers twice is dropped: every image is handled once).
Ray Data retries the work of an actor whose process died (it restarts the actor); an actor killed
for good (ray.kill, a lost node) fails the run, so the loop starts a fresh pool for the images not
handled yet, up to settings.max_retries times. Ctrl-C stops the pool; what on_batch wrote stays.
"""
from __future__ import annotations

import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from maskwork.core.domain.errors import Cancelled, MaskworkError, ModelError

MAX_BLOCKS = 20_000  # beyond this, a block holds several batches (block metadata costs the driver memory)


@dataclass
class Task:
    index: int
    name: str      # the name in the output (or the dataset's image name)
    path: str      # what the actor opens (an image file; for evaluate the image name)
    key: str = ""  # resume key (core.cluster.run_key)


@dataclass
class Outcome:
    handled: int = 0
    batches: int = 0
    duplicates: int = 0          # results delivered again by Ray's retries, dropped
    restarts: int = 0            # fresh pools started after a worker was lost for good
    seconds: float = 0.0         # from the first pool's start to the last result
    startup: float = 0.0         # from the start to the first result (Ray, actors, model, first batch)
    first: int = 0               # images in the first batch

    def describe(self, images: int) -> str:
        steady = self.seconds - self.startup
        # after the first batch, when there were enough batches to speak of a steady rate
        rate = f", then {(self.handled - self.first) / steady:.2f} img/s" if steady > 0 and self.batches >= 4 else ""
        again = f"; {self.restarts} fresh pools after lost workers" if self.restarts else ""
        return f"{images} images in {self.seconds:.1f} s (first result after {self.startup:.1f} s{rate}){again}"


def actor_stage(ray, actor_cls, parcel_ref, options: dict, settings, workers: tuple[int, int]):
    """The map_batches step: (fewest, most) actors of actor_cls, each with its threads (and GPUs)."""
    gpus = {"num_gpus": settings.gpus_per_worker} if settings.gpus_per_worker else {}
    low, high = workers
    pool = ray.data.ActorPoolStrategy(size=low) if low == high else ray.data.ActorPoolStrategy(min_size=low,
                                                                                               max_size=high)

    def stage(ds):
        return ds.map_batches(actor_cls, fn_constructor_kwargs={"parcel_ref": [parcel_ref], "options": options},
                              batch_size=settings.batch_size, compute=pool, num_cpus=settings.threads_per_worker,
                              **gpus)
    return stage


def _lost_worker_errors(ray) -> tuple:
    x = ray.exceptions
    return tuple(getattr(x, n) for n in ("RayActorError", "WorkerCrashedError", "NodeDiedError", "ObjectLostError",
                                         "OwnerDiedError", "ActorUnavailableError") if hasattr(x, n))


def _last_error_line(text: str) -> str:
    """`SomeError: what` from the end of a remote traceback (the text itself when there is none)."""
    found = re.findall(r"^\s*([\w.]*(?:Error|Exception): .*)$", text, re.M)
    return found[-1].strip() if found else text.strip().splitlines()[-1][:300]


def _user_error(exc: BaseException) -> MaskworkError | None:
    """A Maskwork error raised inside an actor (e.g. a model that cannot be rebuilt), unwrapped."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, MaskworkError):
            return current
        current = getattr(current, "cause", None) or current.__cause__
    return None


@contextmanager
def _deferred_interrupt():
    """Ctrl-C while a batch is being written takes effect right after it, not half-way through."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hits = []
    previous = signal.signal(signal.SIGINT, lambda *_: hits.append(1))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if hits:
        raise KeyboardInterrupt


def stream(ray, tasks: list[Task], stage, on_batch, progress, settings) -> Outcome:
    outcome = Outcome()
    remaining = {t.index: t for t in tasks}
    total = len(tasks)
    start = time.monotonic()
    progress(0, total, "starting workers")
    while remaining:
        rows = [{"index": t.index, "path": t.path} for t in remaining.values()]
        # about one block per batch, so that batches spread over the actors from the first one
        blocks = min(MAX_BLOCKS, -(-len(rows) // settings.batch_size))
        dataset = ray.data.from_items(rows, override_num_blocks=blocks)
        batches = iter(stage(dataset).iter_batches(batch_size=None, batch_format="numpy"))
        try:
            for batch in batches:
                fresh = []
                for index, error, payload in zip(batch["index"], batch["error"], batch["payload"]):
                    task = remaining.pop(int(index), None)
                    if task is None:
                        outcome.duplicates += 1
                        continue
                    fresh.append((task, str(error or ""), payload))
                if fresh:
                    if not outcome.handled:
                        outcome.startup, outcome.first = time.monotonic() - start, len(fresh)
                    with _deferred_interrupt():  # a batch is written completely, or not at all
                        on_batch(fresh)
                        outcome.handled += len(fresh)
                        outcome.batches += 1
                    progress(outcome.handled, total, fresh[-1][0].name)
        except KeyboardInterrupt:
            raise Cancelled(f"stopped after {outcome.handled} of {total} images (Ctrl-C)") from None
        except _lost_worker_errors(ray) as exc:
            if getattr(exc, "actor_init_failed", False):  # every new actor would fail the same way
                why = _last_error_line(str(exc))
                hint = (" Install Maskwork with the same version on every node (pip install 'maskwork[cluster]')."
                        if "No module named 'maskwork" in str(exc) else "")
                raise ModelError(f"the workers could not set up the model: {why}.{hint}") from exc
            outcome.restarts += 1
            if outcome.restarts > settings.max_retries:
                raise ModelError(f"workers were lost {outcome.restarts} times ({type(exc).__name__}); "
                                 f"{len(remaining)} images are not done. Check the cluster, then rerun the "
                                 "same command: finished images are skipped.") from exc
            if remaining:
                print(f"\na worker was lost ({type(exc).__name__}); {len(remaining)} images go to a fresh pool "
                      f"(retry {outcome.restarts} of {settings.max_retries})", file=sys.stderr)
        except Exception as exc:
            found = _user_error(exc)
            if found is not None:
                raise found from exc
            raise
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # stops the pool's work when we leave early
    outcome.seconds = time.monotonic() - start
    return outcome
