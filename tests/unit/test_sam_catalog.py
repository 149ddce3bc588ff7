"""Promptable models around the network: the model table, downloads (resume over HTTP Range, hashes,
licences, offline), the embedding cache (LRU by bytes, prefetch) and the CLI. The network here is a
local http.server thread; the ONNX pair is the small reference SAM of test_sam.py."""
from __future__ import annotations

import dataclasses
import hashlib
import http.server
import os
import threading
import time

import numpy as np
import pytest

from maskwork.core.domain.errors import Cancelled, InputError, ModelError
from maskwork.core.domain.progress import CancelToken
from maskwork.core.interactive.sam import catalog
from maskwork.core.interactive.sam.cache import EmbeddingCache
from maskwork.core.interactive.sam.model import Embedding
from maskwork.core.interactive.sam.transforms import Frame


# ---- a local server that honours Range and can be "killed" part-way ------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        body = srv.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        rng = self.headers.get("Range")
        srv.ranges.append(rng)
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        if start >= len(body):
            self.send_error(416)
            return
        self.send_response(206 if rng else 200)
        if rng:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        stop = len(body) if srv.cut is None else min(len(body), srv.cut)
        self.wfile.write(body[start:stop])
        if srv.cut is not None:  # the server dies here: the client gets a short body
            srv.cut = None
            self.wfile.flush()
            self.connection.shutdown(2)


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.ranges, srv.cut = {}, [], None
    srv.handle_error = lambda *args: None  # the "killed" connection is expected
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _spec(srv, enc: bytes, dec: bytes, good=True, sha=True, commercial=True) -> catalog.SamSpec:
    srv.files.update({"/e/enc.onnx": enc, "/d/dec.onnx": dec})
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    digest = (lambda b: hashlib.sha256(b).hexdigest() if good else "0" * 64) if sha else (lambda b: None)
    return catalog.SamSpec("test-sam", "test", "sam", catalog.OnnxFile(base + "/e/enc.onnx", digest(enc)),
                           catalog.OnnxFile(base + "/d/dec.onnx", digest(dec)), "Apache-2.0", commercial, "1M", "test")


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKWORK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MASKWORK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("MASKWORK_OFFLINE", raising=False)
    return tmp_path


def test_download_killed_midway_resumes_with_a_range_request(server, dirs):
    enc, dec = os.urandom(5 << 20), os.urandom(300_000)
    spec = _spec(server, enc, dec)
    server.cut = 3 << 20 | 12345
    seen = []
    with pytest.raises(ModelError, match="continues where it stopped"):
        catalog.fetch(spec, progress=lambda d, t, m="": seen.append((d, t)))
    enc_path, dec_path = catalog.files_of(spec)
    partial = enc_path.with_name(enc_path.name + ".partial")
    kept = partial.stat().st_size
    assert 0 < kept < len(enc) and not enc_path.exists()
    seen.clear()
    catalog.fetch(spec, progress=lambda d, t, m="": seen.append((d, t)))
    assert server.ranges[-2:] == [f"bytes={kept}-", None]        # the encoder resumed, the decoder whole
    assert enc_path.read_bytes() == enc and dec_path.read_bytes() == dec
    assert seen[0][0] > kept and seen[0][1] == len(enc)           # progress counts from the kept part
    assert catalog.state(spec) == "here"
    assert not list(enc_path.parent.glob("*.partial"))


def test_a_download_whose_hash_differs_is_refused(server, dirs):
    spec = _spec(server, b"e" * 5000, b"d" * 100, good=False)
    with pytest.raises(ModelError, match="checksum differs"):
        catalog.fetch(spec)
    assert not any(catalog.files_of(spec)[0].parent.iterdir())   # nothing kept, not even a partial file


def test_cancelled_download_keeps_its_part_for_later(server, dirs):
    spec = _spec(server, os.urandom(3 << 20), b"d" * 100)
    token = CancelToken()
    with pytest.raises(Cancelled):
        catalog.fetch(spec, progress=lambda d, t, m="": token.cancel(), cancel=token)
    catalog.fetch(spec)
    assert server.ranges[1].startswith("bytes=") and catalog.state(spec) == "here"


def test_unverified_noncommercial_and_offline_are_refused_with_a_reason(server, dirs, monkeypatch):
    unhashed = _spec(server, b"e" * 100, b"d" * 100, sha=False)
    with pytest.raises(ModelError, match="--trust"):
        catalog.fetch(unhashed)
    assert catalog.fetch(unhashed, trust=True)[0].read_bytes() == b"e" * 100
    nc = _spec(server, b"e" * 100, b"d" * 100, commercial=False)
    nc = dataclasses.replace(nc, name="nc")
    with pytest.raises(ModelError, match="--accept-licence"):
        catalog.fetch(nc)
    monkeypatch.setenv("MASKWORK_OFFLINE", "1")
    other = dataclasses.replace(unhashed, name="offline")
    with pytest.raises(ModelError, match="downloads are off") as err:
        catalog.fetch(other, trust=True)
    assert "enc.onnx" in str(err.value) and str(catalog.cache_dir()) in str(err.value)
    assert len(server.ranges) == 2  # neither refused model touched the network


def test_the_table_declares_what_the_brief_asks():
    names = {s.name for s in catalog.all_specs()}
    assert {"sam-vit-b", "sam-vit-l", "sam-vit-h", "mobilesam", "efficientsam-ti", "sam2.1-tiny",
            "sam2.1-small"} <= names
    assert "edgesam" not in names and "edgesam" in {s.name for s in catalog.all_specs(include_noncommercial=True)}
    for s in catalog.SAM_MODELS.values():
        assert s.encoder.url.startswith("https://") and s.licence and s.params
        assert s.encoder.sha256 is None or len(s.encoder.sha256) == 64


# ---- the cache ---------------------------------------------------------------------------------------
class _FakeModel:
    """Counts encodings; each embedding is `size` bytes. Cache logic only: no network involved."""

    def __init__(self, size=1000, delay=0.0):
        self.size, self.delay, self.calls = size, delay, []

    def encode(self, image, progress=None, cancel=None):
        self.calls.append(int(image[0, 0, 0]))
        end = time.monotonic() + self.delay
        while time.monotonic() < end:
            if cancel is not None:
                cancel.check()
            time.sleep(0.005)
        return Embedding({"image_embeddings": np.zeros(self.size // 4, np.float32)}, Frame(1, 1, 1, 1))


def _img(v):
    return np.full((2, 2, 3), v, np.uint8)


def test_cache_keeps_recent_embeddings_within_its_byte_budget():
    model = _FakeModel(size=1000)
    cache = EmbeddingCache(model, max_bytes=3500)
    for k in range(4):
        cache.get(k, _img(k))
    assert cache.keys() == [1, 2, 3] and cache.nbytes == 3000
    cache.get(1, _img(1))                 # a hit: no encoding, and 1 becomes the most recent
    cache.get(4, _img(4))
    assert cache.keys() == [3, 1, 4] and model.calls == [0, 1, 2, 3, 4]
    cache.close()


def test_prefetch_runs_in_the_background_and_is_not_computed_twice():
    model = _FakeModel(delay=0.2)
    cache = EmbeddingCache(model)
    started = time.monotonic()
    future = cache.prefetch("next", lambda: _img(7))
    assert time.monotonic() - started < 0.15                      # returned before the encoding ended
    emb = cache.get("next", _img(7))                              # waits for the prefetch
    assert future.result() is emb and model.calls == [7]
    assert cache.prefetch("next", lambda: _img(7)) is None        # cached already
    cache.close()


def test_a_newer_prefetch_cancels_the_older_one():
    model = _FakeModel(delay=1.0)
    cache = EmbeddingCache(model)
    first = cache.prefetch("a", lambda: _img(1))
    time.sleep(0.05)
    cache.prefetch("b", lambda: _img(2)).result(timeout=5)
    with pytest.raises(Cancelled):
        first.result(timeout=5)
    assert "a" not in cache and "b" in cache
    cache.close()


# ---- registering a local pair and the CLI --------------------------------------------------------------
def test_register_a_local_pair_and_segment_from_the_cli(tiny_pair, dirs, tmp_path, capsys):
    from PIL import Image

    from maskwork.core.cli import run

    enc, dec = tiny_pair
    assert run(["sam-register", "mine", str(enc), str(dec)]) == 0
    assert "mine" in {s.name for s in catalog.all_specs()}
    assert run(["sam-models"]) == 0
    assert "mine" in capsys.readouterr().out
    img = tmp_path / "img.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 130, 3), dtype=np.uint8)).save(img)
    out = tmp_path / "mask.png"
    assert run(["segment", str(img), "--tool", "sam", "--model", "mine", "--point", "60,40,1", "--out", str(out)]) == 0
    mask = np.asarray(Image.open(out))
    assert mask.shape == (90, 130) and set(np.unique(mask)) <= {0, 255}
    from maskwork.core.interactive.prompt import Prompt
    from maskwork.core.interactive.sam.model import PromptModel

    model = PromptModel(enc, dec)
    expected = model.decode(model.encode(np.asarray(Image.open(img))), Prompt(points=[(60, 40, True)])).mask
    assert np.array_equal(mask > 0, expected.to_full())
    assert run(["segment", str(img), "--tool", "sam", "--model", "nope", "--point", "1,1,1", "--out", str(out)]) == 2
    with pytest.raises(InputError, match="built-in"):
        catalog.register("sam-vit-b", enc, dec)
