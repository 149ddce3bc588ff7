"""Promptable models of the SAM family (ONNX encoder + decoder pairs), headless.

    spec = catalog.get_spec("sam-vit-b")                 # or catalog.pair_spec("enc.onnx,dec.onnx")
    model = catalog.open_model(spec, progress, cancel)   # downloads on first use (resumable, sha256)
    cache = EmbeddingCache(model)
    emb = cache.get(image_key, image)                    # slow: in a worker
    result = model.decode(emb, Prompt(points=[(x, y, True)]))   # fast: result.mask (the best);
    # result.mask_at(i) for i in range(len(result)): the other candidates, result.scores: predicted IoU
"""
from maskwork.core.interactive.sam.cache import EmbeddingCache
from maskwork.core.interactive.sam.model import Embedding, PromptModel, SamResult

__all__ = ["EmbeddingCache", "Embedding", "PromptModel", "SamResult"]
