"""Promptable models Maskwork knows: a table of declarations (ADR 0003), plus the user's own pairs.

Each row names the ONNX encoder and decoder (publisher's URL and sha256), the licence, whether it
may be used commercially, the size and the layout. URLs and hashes were copied from the sources of
the servers that publish these files (labelme/osam for SAM, EfficientSAM and SAM 2.1;
X-AnyLabeling's model configs for MobileSAM and EdgeSAM, which publish no hash): none could be
downloaded here, so a row whose sha256 is None is downloaded only with `trust=True` (CLI --trust).
Rows that may not be used commercially (EdgeSAM) are listed and fetched only when asked for; EdgeSAM's
own ONNX layout (no mask_input / orig_im_size) is not one Maskwork runs yet, so its row is informational.

Files live in <cache>/sam/<model>/ ($MASKWORK_CACHE_DIR/sam, default ~/.cache/maskwork/sam); a copy
put there by hand works offline. Your own pairs are listed in <config>/sam_models.json.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from maskwork.core.domain.errors import InputError, ModelError
from maskwork.core.domain.progress import CancelToken, ProgressFn
from maskwork.core.interactive.sam.layouts import LAYOUTS
from maskwork.core.store import bounded
from maskwork.core.store.schemas import SamModelsFile, load_json

LABELME = "https://github.com/wkentaro/labelme/releases/download/sam-20230416/"
ESAM = "https://github.com/labelmeai/efficient-sam/releases/download/onnx-models-20231225/"
OSAM = "https://github.com/wkentaro/osam/releases/download/sam2.1/"
XANY = "https://github.com/CVHub520/X-AnyLabeling/releases/download/"
SRC_OSAM = "osam (osam/_models/*/_models.py)"
SRC_XANY = "X-AnyLabeling (anylabeling/configs/auto_labeling/*.yaml; no hash published)"


@dataclass(frozen=True)
class OnnxFile:
    url: str
    sha256: str | None
    size_mb: float | None = None   # about; see SIZES_MB


    @property
    def filename(self) -> str:
        return os.path.basename(urlparse(self.url).path)


@dataclass(frozen=True)
class SamSpec:
    name: str
    family: str
    layout: str
    encoder: OnnxFile
    decoder: OnnxFile
    licence: str
    commercial: bool
    params: str                    # encoder + decoder parameters, as the model's authors state them
    source: str                    # where URL and hash come from
    local: bool = False            # a pair registered by the user (paths in encoder.url / decoder.url)

    @property
    def verified(self) -> bool:
        return self.local or (self.encoder.sha256 is not None and self.decoder.sha256 is not None)


# Download sizes (encoder, decoder) in MB, for the user to judge before fetching. Estimated from the stated
# parameter counts (int8 files ~1 byte per weight, float files 4), not measured: none of these files could
# be downloaded here. The download itself shows the server's exact byte count.
SIZES_MB: dict[str, tuple[float, float]] = {
    "sam-vit-b": (104, 9), "sam-vit-l": (317, 9), "sam-vit-h": (649, 9), "mobilesam": (28, 16),
    "efficientsam-ti": (25, 16), "efficientsam-s": (88, 16), "sam2.1-tiny": (135, 20),
    "sam2.1-small": (163, 20), "edgesam": (22, 16),
}


def _row(name, family, layout, enc, enc_sha, dec, dec_sha, licence, params, source, commercial=True):
    enc_mb, dec_mb = SIZES_MB[name]
    return SamSpec(name, family, layout, OnnxFile(enc, enc_sha, enc_mb), OnnxFile(dec, dec_sha, dec_mb), licence,
                   commercial, params, source)


SAM_MODELS: dict[str, SamSpec] = {s.name: s for s in [
    _row("sam-vit-b", "SAM ViT-B (int8)", "sam",
         LABELME + "sam_vit_b_01ec64.quantized.encoder.onnx",
         "3346b9cc551c9902fbf3b203935e933592b22e042365f58321c17fc12641fd6a",
         LABELME + "sam_vit_b_01ec64.quantized.decoder.onnx",
         "edbcf1a0afaa55621fb0abe6b3db1516818b609ea9368f309746a3afc68f7613", "Apache-2.0", "91M + 4M", SRC_OSAM),
    _row("sam-vit-l", "SAM ViT-L (int8)", "sam",
         LABELME + "sam_vit_l_0b3195.quantized.encoder.onnx",
         "f7158a4a1fe7f670ef47ea2f7f852685425c1ed6caa40f5df86cbe2b0502034f",
         LABELME + "sam_vit_l_0b3195.quantized.decoder.onnx",
         "552ebb23bf52c5e5b971ac710d1eb8dccfd88b36cc6aff881d1536d1662e6d7b", "Apache-2.0", "308M + 4M", SRC_OSAM),
    _row("sam-vit-h", "SAM ViT-H (int8)", "sam",
         LABELME + "sam_vit_h_4b8939.quantized.encoder.onnx",
         "a5c745fd4279efc5e5436b412200e983dafc2249ce172af6cc0002a71bb5f485",
         LABELME + "sam_vit_h_4b8939.quantized.decoder.onnx",
         "020b385a45ffe51097e1acd10cd791075a86171153505f789a793bc382eef210", "Apache-2.0", "632M + 4M", SRC_OSAM),
    _row("mobilesam", "MobileSAM (TinyViT)", "sam",
         XANY + "v0.2.0/mobile_sam.encoder.onnx", None,
         XANY + "v0.2.0/sam_vit_h_4b8939.decoder.onnx", None, "Apache-2.0", "5.8M + 4M", SRC_XANY),
    _row("efficientsam-ti", "EfficientSAM ViT-Ti", "efficientsam",
         ESAM + "efficient_sam_vitt_encoder.onnx", "7a73ee65aa2c37237c89b4b18e73082f757ffb173899609c5d97a2bbd4ebb02d",
         ESAM + "efficient_sam_vitt_decoder.onnx", "e1afe46232c3bfa3470a6a81c7d3181836a94ea89528aff4e0f2d2c611989efd",
         "Apache-2.0", "10M", SRC_OSAM),
    _row("efficientsam-s", "EfficientSAM ViT-S", "efficientsam",
         ESAM + "efficient_sam_vits_encoder.onnx", "4cacbb23c6903b1acf87f1d77ed806b840800c5fcd4ac8f650cbffed474b8896",
         ESAM + "efficient_sam_vits_decoder.onnx", "4727baf23dacfb51d4c16795b2ac382c403505556d0284e84c6ff3d4e8e36f22",
         "Apache-2.0", "26M", SRC_OSAM),
    _row("sam2.1-tiny", "SAM 2.1 Hiera-T", "sam2",
         OSAM + "sam2.1_tiny_preprocess.onnx", "5557482c56565f6a6c8206874b1a11c392cef8a1766477bf035b919092f2b619",
         OSAM + "sam2.1_tiny.onnx", "11a2c86fabbea9d0268213a9205c99a7f7e379caa0493bd13f5cca8ffaae6777",
         "Apache-2.0", "39M", SRC_OSAM),
    _row("sam2.1-small", "SAM 2.1 Hiera-S", "sam2",
         OSAM + "sam2.1_small_preprocess.onnx", "06016c6dfb146ce10e4dadfdf49e88a05c8d1f97a6b7c57e150e60d2d46a72e7",
         OSAM + "sam2.1_small.onnx", "153aaef5047a3b95285d90cbb39dad6c7b5821bfd944dbf56483f3f735936941",
         "Apache-2.0", "46M", SRC_OSAM),
    _row("edgesam", "EdgeSAM", "edgesam",
         XANY + "v2.2.0/edge_sam_encoder.onnx", None, XANY + "v2.2.0/edge_sam_decoder.onnx", None,
         "S-Lab License 1.0 (non-commercial use only)", "10M", SRC_XANY, commercial=False),
]}


def cache_dir() -> Path:
    override = os.environ.get("MASKWORK_CACHE_DIR")
    return (Path(override) if override else Path.home() / ".cache" / "maskwork") / "sam"


def files_of(spec: SamSpec) -> tuple[Path, Path]:
    if spec.local:
        return Path(spec.encoder.url), Path(spec.decoder.url)
    folder = cache_dir() / spec.name
    return folder / spec.encoder.filename, folder / spec.decoder.filename


def state(spec: SamSpec) -> str:
    """"here" | "needs download" | "missing" (a registered pair whose files moved)."""
    here = all(p.is_file() for p in files_of(spec))
    return "here" if here else ("missing" if spec.local else "needs download")


def megabytes(mb: float | None) -> str:
    return "size unknown" if mb is None else f"about {mb:.0f} MB"


def download_size(spec: SamSpec) -> str:
    """What the user downloads for `spec`, in words: "about 113 MB (encoder 104 MB + decoder 9 MB)"."""
    enc, dec = spec.encoder.size_mb, spec.decoder.size_mb
    if spec.local:
        return "your own files"
    if enc is None or dec is None:
        return "size unknown"
    return f"about {enc + dec:.0f} MB (encoder {enc:.0f} MB + decoder {dec:.0f} MB)"


def downloads_allowed() -> bool:
    """MASKWORK_OFFLINE=1 switches downloads off (a machine without a network, or by policy)."""
    return os.environ.get("MASKWORK_OFFLINE", "") in ("", "0")


def missing_files(spec: SamSpec) -> list[tuple[OnnxFile, Path]]:
    """The (file, destination) pairs still to be put in place."""
    return [(f, p) for f, p in zip((spec.encoder, spec.decoder), files_of(spec)) if not p.is_file()]


# ---- the user's own pairs -------------------------------------------------------------------------
def registry_file() -> Path:
    from maskwork.core.models.catalog.user_models import config_dir

    return config_dir() / "sam_models.json"


def _read_registered() -> dict[str, dict]:
    path = registry_file()
    if not path.is_file():
        return {}
    try:
        return load_json(path, SamModelsFile, where=f"the list of your promptable models {path}")["models"]
    except InputError as exc:  # one sentence already: the file, the field, what to do
        raise ModelError(str(exc)) from exc
    except OSError as exc:
        raise ModelError(f"the list of your promptable models {path} is damaged ({exc}); fix or delete it and "
                         "register the pairs again (the ONNX files are untouched).") from exc


def registered() -> list[SamSpec]:
    return [SamSpec(name, "your files", e.get("layout", "sam"), OnnxFile(e["encoder"], None),
                    OnnxFile(e["decoder"], None), e.get("licence", "as its publisher says"), True, "?",
                    "registered by you", local=True) for name, e in _read_registered().items()]


def register(name: str, encoder: str | Path, decoder: str | Path, layout: str = "sam") -> SamSpec:
    """Remember a local encoder + decoder pair under `name` (offline machines, your own exports)."""
    from maskwork.core.store.atomic import save_json_atomic

    if name in SAM_MODELS:
        raise InputError(f"{name!r} is a built-in promptable model; register your files under another name.")
    if layout not in LAYOUTS:
        raise InputError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}.")
    enc, dec = Path(encoder).resolve(), Path(decoder).resolve()
    for p in (enc, dec):
        if not p.exists():
            raise InputError(f"{p} does not exist; give the path of the ONNX encoder and decoder files.")
        bounded.check_file(p, limit=bounded.MODEL_FILE, what="ONNX file")  # a folder, FIFO or /dev/zero: said so
    entries = _read_registered()
    entries[name] = {"encoder": str(enc), "decoder": str(dec), "layout": layout}
    registry_file().parent.mkdir(parents=True, exist_ok=True)
    save_json_atomic(registry_file(), {"version": 1, "models": entries}, indent=1)
    return next(s for s in registered() if s.name == name)


def all_specs(include_noncommercial: bool = False) -> list[SamSpec]:
    rows = [s for s in SAM_MODELS.values() if s.commercial or include_noncommercial]
    return rows + registered()


def get_spec(name: str) -> SamSpec:
    for spec in [*SAM_MODELS.values(), *registered()]:
        if spec.name == name:
            return spec
    raise InputError(f"unknown promptable model {name!r}; known: {', '.join(s.name for s in all_specs())} "
                     "(or give ENCODER.onnx,DECODER.onnx).")


def pair_spec(text: str, layout: str = "sam") -> SamSpec:
    """`ENCODER.onnx,DECODER.onnx` as a one-off local spec."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise InputError(f"{text!r} is not ENCODER.onnx,DECODER.onnx.")
    return SamSpec(Path(parts[0]).stem, "your files", layout, OnnxFile(parts[0], None), OnnxFile(parts[1], None),
                   "as its publisher says", True, "?", "given on the command line", local=True)


# ---- getting the files ----------------------------------------------------------------------------
def fetch(spec: SamSpec, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
          trust: bool = False, allow_download: bool | None = None, accept_licence: bool = False) -> tuple[Path, Path]:
    """Paths of the encoder and decoder, downloading what is missing (resumable, sha256-checked)."""
    from maskwork.core.models.catalog.download import download_file

    paths = files_of(spec)
    if spec.local:
        for p in paths:
            if not p.is_file():
                raise ModelError(f"{p} (promptable model {spec.name}) does not exist; put the file back or "
                                 "register the pair again.")
        return paths
    missing = missing_files(spec)
    if not missing:
        return paths
    if not spec.commercial and not accept_licence:
        raise ModelError(f"{spec.name} is licensed {spec.licence}; Maskwork fetches it only when you accept that "
                         "licence (CLI: --accept-licence).")
    if allow_download is None:
        allow_download = downloads_allowed()
    if not allow_download:
        names = " and ".join(f"{p.name} (from {f.url})" for f, p in missing)
        raise ModelError(f"{spec.name} is not on this computer and downloads are off; put {names} into "
                         f"{missing[0][1].parent}, or register a local encoder/decoder pair.")
    if not spec.verified and not trust:
        raise ModelError(f"the publisher of {spec.name} gives no sha256, so Maskwork cannot check the download; "
                         "download it only if you trust the source (CLI: --trust), or register files you have.")
    for f, p in missing:
        # sizes are estimates: twice the estimate + 64 MB still stops an endless stream early
        most = int(f.size_mb * 2e6) + (64 << 20) if f.size_mb else None
        download_file(f.url, p, progress, cancel, check_hash=f.sha256 is not None, sha256=f.sha256, resume=True,
                      max_bytes=most)
    return paths


def open_model(spec: SamSpec, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
               **fetch_options):
    """A ready PromptModel (files fetched as needed)."""
    from maskwork.core.interactive.sam.model import PromptModel

    if spec.layout not in LAYOUTS:
        raise ModelError(f"{spec.name} uses the {spec.layout} layout, which this Maskwork cannot run.")
    encoder, decoder = fetch(spec, progress, cancel, **fetch_options)
    return PromptModel(encoder, decoder, spec.layout, spec.name)
