"""Image embeddings kept per image (LRU bounded by bytes), and the next image's computed ahead.

`get(key, image)` returns the cached embedding or computes it in the caller's thread (a worker in
the GUI); `prefetch(key, loader)` computes one on a background thread while the user works, and a
`get` for that key waits for it instead of computing it twice. One prefetch at a time: a newer one
cancels the older (the user moved on). Embeddings belong to one model: one cache per model.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Hashable

import numpy as np

from maskwork.core.domain.errors import Cancelled
from maskwork.core.domain.progress import CancelToken, ProgressFn
from maskwork.core.interactive.sam.model import Embedding, PromptModel

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 512 << 20   # ~128 SAM embeddings (4 MiB) or ~30 SAM 2 ones (16.5 MiB)


class EmbeddingCache:
    def __init__(self, model: PromptModel, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.model, self.max_bytes = model, int(max_bytes)
        self._items: OrderedDict[Hashable, Embedding] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[Hashable, tuple[Future, CancelToken]] = {}
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sam-prefetch")
        self.computed = 0           # embeddings computed (tests and the benchmark read it)

    # ---- reading -----------------------------------------------------------------------------
    def peek(self, key: Hashable) -> Embedding | None:
        with self._lock:
            emb = self._items.get(key)
            if emb is not None:
                self._items.move_to_end(key)
            return emb

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    @property
    def nbytes(self) -> int:
        with self._lock:
            return sum(e.nbytes for e in self._items.values())

    def keys(self) -> list:
        with self._lock:
            return list(self._items)

    def get(self, key: Hashable, image: np.ndarray | None = None, progress: ProgressFn | None = None,
            cancel: CancelToken | None = None, loader: Callable[[], np.ndarray] | None = None) -> Embedding:
        """The embedding of `key`, computed from `image` (or `loader()`) when not cached or prefetched."""
        emb = self.peek(key)
        if emb is not None:
            return emb
        with self._lock:
            pending = self._pending.get(key)
        if pending is not None:
            try:
                return pending[0].result()
            except Cancelled:
                pass                  # a prefetch cancelled by a newer one: compute it here
            except Exception:
                if image is None and loader is None:
                    raise
                log.warning("prefetched embedding %r failed; computing it again", key, exc_info=True)
        if image is None:
            if loader is None:
                raise ValueError(f"no embedding for {key!r} and no image to compute it from")
            image = loader()
        emb = self.model.encode(image, progress, cancel)
        self._store(key, emb)
        return emb

    # ---- background --------------------------------------------------------------------------
    def prefetch(self, key: Hashable, loader: Callable[[], np.ndarray]) -> Future | None:
        """Compute `key`'s embedding on a background thread; None when it is cached already."""
        if key in self:
            return None
        with self._lock:
            if key in self._pending:
                return self._pending[key][0]
            for _, token in self._pending.values():
                token.cancel()          # the user moved on: the older guess is not needed first
            token = CancelToken()
            future = self._executor.submit(self._prefetch_job, key, loader, token)
            self._pending[key] = (future, token)
        return future

    def _prefetch_job(self, key: Hashable, loader: Callable[[], np.ndarray], token: CancelToken) -> Embedding:
        try:
            token.check()
            emb = self.model.encode(loader(), cancel=token)
            self._store(key, emb)
            return emb
        finally:
            with self._lock:
                if key in self._pending and self._pending[key][1] is token:
                    del self._pending[key]

    def _store(self, key: Hashable, emb: Embedding) -> None:
        with self._lock:
            self.computed += 1
            self._items[key] = emb
            self._items.move_to_end(key)
            total = sum(e.nbytes for e in self._items.values())
            while total > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                total -= old.nbytes

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def close(self) -> None:
        """Cancel a prefetch in progress and stop the background thread."""
        with self._lock:
            for _, token in self._pending.values():
                token.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
