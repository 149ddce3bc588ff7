"""core.store.images on real images and on the awkward files users actually have."""
from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from PIL import Image

from maskwork.core.domain.errors import InputError
from maskwork.core.store import images
from maskwork.core.store.images import IMAGE_SUFFIXES, image_size, read_image


@pytest.fixture
def aerial_jpg(aerial_dir, tmp_path):
    src = sorted((aerial_dir / "images").glob("*.jpg"))[0]
    return shutil.copy(src, tmp_path / src.name)


@pytest.fixture
def real_rgb(aerial_jpg):
    """A real photo, cropped small so the variants below stay fast."""
    return np.asarray(Image.open(aerial_jpg).convert("RGB"))[:120, :160].copy()


def test_real_jpeg_and_png(aerial_jpg, nuclei_val):
    rgb = read_image(aerial_jpg)
    with Image.open(aerial_jpg) as ref:
        assert rgb.shape == (ref.height, ref.width, 3)
        assert np.array_equal(rgb, np.asarray(ref.convert("RGB")))
    assert rgb.dtype == np.uint8 and rgb.flags["C_CONTIGUOUS"]
    assert image_size(aerial_jpg) == (rgb.shape[1], rgb.shape[0])
    nuc = next((nuclei_val.parent / "images").glob("*.png"))
    arr = read_image(nuc)
    assert arr.shape[2] == 3 and image_size(nuc) == (arr.shape[1], arr.shape[0])


def test_grayscale_is_replicated(tmp_path, real_rgb):
    grey = cv2.cvtColor(real_rgb, cv2.COLOR_RGB2GRAY)
    Image.fromarray(grey).save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == grey.shape + (3,)
    assert all(np.array_equal(out[:, :, c], grey) for c in range(3))


def test_rgba_drops_alpha(tmp_path, real_rgb):
    rgba = np.dstack([real_rgb, np.full(real_rgb.shape[:2], 7, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    assert np.array_equal(read_image(tmp_path / "a.png"), real_rgb)


def test_16bit_is_scaled_by_its_range(tmp_path, real_rgb):
    grey = cv2.cvtColor(real_rgb, cv2.COLOR_RGB2GRAY).astype(np.uint16)
    sixteen = grey * 3 + 1000  # a typical microscope range: far from 0..65535
    cv2.imwrite(str(tmp_path / "s.png"), sixteen)
    out = read_image(tmp_path / "s.png")[:, :, 0]
    assert out.min() == 0 and out.max() == 255
    expected = np.rint((sixteen - sixteen.min()) * 255.0 / (sixteen.max() - sixteen.min()))
    assert np.abs(out.astype(int) - expected).max() <= 1
    # 16-bit colour, through the OpenCV fallback path or Pillow
    cv2.imwrite(str(tmp_path / "c.png"), np.dstack([sixteen] * 3))
    assert read_image(tmp_path / "c.png").shape == real_rgb.shape[:2] + (3,)


def test_exif_orientation_applied(tmp_path, real_rgb):
    img = Image.fromarray(real_rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    img.save(tmp_path / "r.jpg", exif=exif, quality=95)
    out = read_image(tmp_path / "r.jpg")
    h, w = real_rgb.shape[:2]
    assert out.shape == (w, h, 3)
    assert image_size(tmp_path / "r.jpg") == (h, w)
    with Image.open(tmp_path / "r.jpg") as raw:  # same pixels as the raw decode rotated clockwise
        rotated = np.rot90(np.asarray(raw.convert("RGB")), k=-1)
    assert np.array_equal(out, rotated)


@pytest.mark.parametrize("damage", ["empty", "truncated", "text", "missing", "folder"])
def test_bad_files_name_the_file(tmp_path, aerial_jpg, damage):
    path = tmp_path / f"bad_{damage}.jpg"
    data = open(aerial_jpg, "rb").read()
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif damage == "text":
        path.write_text("this is not an image")
    elif damage == "folder":
        path.mkdir()
    with pytest.raises(InputError) as err:
        read_image(path)
    assert path.name in str(err.value)
    if damage in ("empty", "missing", "text", "folder"):
        with pytest.raises(InputError, match=path.name):
            image_size(path)


def test_truncated_png(tmp_path, real_rgb):
    Image.fromarray(real_rgb).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.png"):
        read_image(tmp_path / "cut.png")


def test_pixel_limit(tmp_path, real_rgb, monkeypatch):
    Image.fromarray(real_rgb).save(tmp_path / "big.png")
    monkeypatch.setattr(images, "MAX_PIXELS", 100 * 100)
    with pytest.raises(InputError, match=r"big\.png.*MP"):
        read_image(tmp_path / "big.png")


def test_suffixes_cover_common_formats():
    for suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"):
        assert suffix in IMAGE_SUFFIXES
    assert images.is_image_file("a/B.JPG") and not images.is_image_file("notes.json")


def _pillow_refuses_opencv_reads(path) -> bool:
    """A TIFF Pillow cannot decode (WebP-compressed strips) that OpenCV can: what the reader's fallback decodes."""
    img = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    cv2.imwrite(str(path), img, [cv2.IMWRITE_TIFF_COMPRESSION, 50001])
    try:
        with Image.open(path) as im:
            im.load()
        return False
    except OSError:
        return cv2.imread(str(path)) is not None


def test_opencvs_own_pixel_limit_is_maskworks_so_the_fallback_refuses_before_it_decodes(tmp_path):
    """OpenCV allocates an image before anyone can check its size; its limit (read when cv2 loads) is set by
    maskwork.core to MAX_PIXELS. A fresh process with a lower limit shows OpenCV honours it in the fallback."""
    import os
    import subprocess
    import sys

    from maskwork.core.store.images import MAX_PIXELS

    assert os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] == str(MAX_PIXELS)
    path = tmp_path / "webp-strips.tif"
    if not _pillow_refuses_opencv_reads(path):
        pytest.skip("this Pillow/OpenCV pair has no TIFF that only OpenCV reads")
    probe = ("import sys\nfrom maskwork.core.domain.errors import InputError\n"
             "from maskwork.core.store.images import read_image\n"
             f"try:\n    print(read_image({str(path)!r}).shape)\nexcept InputError as e:\n    print('refused', e)\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_IO_MAX_IMAGE_PIXELS"}
    default = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert default.stdout.strip() == "(64, 64, 3)"  # the fallback reads it under Maskwork's limit
    low = subprocess.run([sys.executable, "-c", probe], env={**env, "OPENCV_IO_MAX_IMAGE_PIXELS": "1000"},
                         capture_output=True, text=True, timeout=120)
    assert low.stdout.startswith("refused") and "MP limit" in low.stdout
