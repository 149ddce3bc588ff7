"""Silence the known warnings of torch.ao.quantization, and only those, around our own calls.

torch 2.x marks torch.ao.quantization as deprecated (torchao PT2E is its successor) and its
observers warn about `reduce_range`; neither means anything to a Maskwork user. Everything else
still reaches them.
"""
from __future__ import annotations

import contextlib
import warnings

from torch import nn

# (category, message regex) of warnings torch.ao.quantization emits on a normal run
KNOWN = [
    (DeprecationWarning, r"torch\.ao\.quantization is deprecated"),
    (UserWarning, r"Please use quant_min and quant_max to specify the range for observers"),
    # rebuilding the int8 structure for a cached model: observers saw no data, the cache sets qparams
    (UserWarning, r"must run observer before calling calculate_qparams"),
    # torch >= 2.10 marks quantized dtypes (quint8/qint8) themselves as deprecated, at build and run time
    # DeepLabV3's ASPP concatenates branches with their own scales; quantized cat requantizes them
    # (agreement is measured instead: docs/BENCHMARKS.md "Models")
    (UserWarning, r"All inputs of this cat operator must share the same quantization parameters"),
    # reading a cached int8 state dict: torch's own unpickler for quantized tensors
    (UserWarning, r"TypedStorage is deprecated"),
    (UserWarning, r"torch\.quantize_per_tensor, torch\.quantize_per_channel and other quantized tensor"),
]


@contextlib.contextmanager
def quiet_quantization():
    with warnings.catch_warnings():
        for category, message in KNOWN:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


class QuietPart(nn.Module):
    """An int8 part whose forward runs with the known warnings silenced (they fire at run time too)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, *args, **kwargs):
        with quiet_quantization():
            return self.inner(*args, **kwargs)
