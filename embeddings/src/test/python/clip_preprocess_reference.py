#!/usr/bin/python3
"""Reference tensors for Loupe's CLIP image preprocessing, computed with Pillow and numpy.

Regenerate (from the repository root; Debian's python3-pil and python3-numpy, hence
/usr/bin/python3 rather than a pyenv python without PIL):

    mvn -B -q -o -pl embeddings test-compile
    java -cp embeddings/target/test-classes dev.loupe.embeddings.image.ClipFixtures /tmp/loupe-clip-fixtures
    /usr/bin/python3 embeddings/src/test/python/clip_preprocess_reference.py /tmp/loupe-clip-fixtures

The first two commands write the derived fixtures (alpha, grey + alpha, 16-bit, palette with
tRNS, CMYK and YCCK JPEGs, EXIF orientations) that the Java tests regenerate in memory; this
script reads them and the sample images in ../shared/testdata/images, and writes
embeddings/src/test/resources/dev/loupe/embeddings/image/clip_preprocess_reference.json: per
image and preprocessing config, the sha256 of the input bytes, the tensor shape, the per-channel
means and a grid of values (every 19th row and column of each channel, every 41st for tensors
larger than 256; odd strides, so the samples fall at every phase of JPEG blocks; 5 decimals).
No images and no full tensors are written.

transformers is not installed here, so CLIPImageProcessor's steps are written out below with
Pillow and numpy, following transformers' image_utils.load_image (EXIF transpose),
image_transforms.convert_to_rgb (alpha composited on white), get_resize_output_image_size
(shortest edge, default_to_square=False), resize (PIL, reducing_gap=None), center_crop (zero
padding), rescale (float64, cast to float32) and normalize (float32).

One deliberate difference: Pillow 9 opens 16-bit greyscale PNGs in mode "I" and clips them at 255
when converting to RGB (an almost white image); Loupe keeps the high byte instead, as Pillow's
16-bit RGB unpackers do, and so does this script for such images.
"""

import hashlib
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[4]
SHARED = REPO.parent / "shared" / "testdata"
OUTPUT = REPO / "embeddings/src/test/resources/dev/loupe/embeddings/image/clip_preprocess_reference.json"

SAMPLES = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.jpg"]
FIXTURES = [
    "astronaut-rgba.png",
    "camera-la.png",
    "camera-16bit.png",
    "coffee-palette-trns.png",
    "chelsea-cmyk.jpg",
    "chelsea-ycck.jpg",
    "rocket-exif6-mm.jpg",
    "rocket-exif8-ii.jpg",
]

# Configs besides the real CLIP one, to show that sizes, filter and statistics are read.
EXTRA_CONFIGS = {
    # ImageNet statistics, 256 shortest edge, a 240 crop, bilinear.
    "alt": {
        "do_resize": True, "size": {"shortest_edge": 256}, "resample": 2,
        "do_center_crop": True, "crop_size": {"height": 240, "width": 240},
        "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225],
    },
    # Upscaling (448 from 427 or 300 rows) and a crop taller than the image: zero padding.
    "pad": {
        "do_resize": True, "size": {"shortest_edge": 448}, "resample": 3,
        "do_center_crop": True, "crop_size": {"height": 480, "width": 400},
        "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
    },
}
EXTRA_CASES = [("chelsea.png", "alt"), ("rocket.jpg", "alt"), ("chelsea.png", "pad"), ("rocket.jpg", "pad")]


def convert_to_rgb(image):
    """transformers.image_transforms.convert_to_rgb: composite on white unless already RGB."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L"):
        image = Image.fromarray((np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8), "L")
    if image.mode == "RGB":
        return image
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def resize_output_size(height, width, shortest_edge):
    """get_resize_output_image_size(size=shortest_edge, default_to_square=False) -> (h, w)."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = shortest_edge, int(shortest_edge * long / short)
    return (new_long, new_short) if width <= height else (new_short, new_long)


def center_crop(image, crop_height, crop_width):
    """transformers.image_transforms.center_crop on an HWC array, padding with zeros."""
    orig_height, orig_width = image.shape[:2]
    top = (orig_height - crop_height) // 2
    bottom = top + crop_height
    left = (orig_width - crop_width) // 2
    right = left + crop_width
    if top >= 0 and bottom <= orig_height and left >= 0 and right <= orig_width:
        return image[top:bottom, left:right]
    new_height = max(crop_height, orig_height)
    new_width = max(crop_width, orig_width)
    new_image = np.zeros((new_height, new_width) + image.shape[2:], dtype=image.dtype)
    top_pad = math.ceil((new_height - orig_height) / 2)
    left_pad = math.ceil((new_width - orig_width) / 2)
    new_image[top_pad:top_pad + orig_height, left_pad:left_pad + orig_width] = image
    top += top_pad
    bottom += top_pad
    left += left_pad
    right += left_pad
    return new_image[max(0, top):min(new_height, bottom), max(0, left):min(new_width, right)]


def size_of(config):
    size = config.get("size", 224)
    return size if isinstance(size, int) else size["shortest_edge"]


def crop_of(config):
    crop = config.get("crop_size", 224)
    return (crop, crop) if isinstance(crop, int) else (crop["height"], crop["width"])


def preprocess(data, config):
    """CLIPImageProcessor on the bytes of one image: a float32 [3, h, w] tensor."""
    image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image)
    image = convert_to_rgb(image)
    array = np.asarray(image)
    if config.get("do_resize", True):
        height, width = resize_output_size(array.shape[0], array.shape[1], size_of(config))
        resized = Image.fromarray(array).resize((width, height), resample=config.get("resample", 3), reducing_gap=None)
        array = np.asarray(resized)
    if config.get("do_center_crop", True):
        array = center_crop(array, *crop_of(config))
    if config.get("do_rescale", True):
        array = (array.astype(np.float64) * config.get("rescale_factor", 1 / 255)).astype(np.float32)
    else:
        array = array.astype(np.float32)
    if config.get("do_normalize", True):
        mean = np.array(config["image_mean"], dtype=array.dtype)
        std = np.array(config["image_std"], dtype=array.dtype)
        array = (array - mean) / std
    return np.ascontiguousarray(array.transpose(2, 0, 1))


def case(name, kind, config_name, data, config):
    tensor = preprocess(data, config)
    stride = 19 if max(tensor.shape[1:]) <= 256 else 41
    grid = tensor[:, ::stride, ::stride]
    return {
        "image": name,
        "kind": kind,
        "config": config_name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "shape": list(tensor.shape),
        "grid_stride": stride,
        "channel_means": [round(float(m), 6) for m in tensor.astype(np.float64).mean(axis=(1, 2))],
        "grid": [[[round(float(v), 5) for v in row] for row in channel] for channel in grid],
    }


def write(reference, path):
    """JSON with one grid row per line: small, and readable in a diff."""
    lines = ["{"]
    for key in ("generator", "pillow", "numpy"):
        lines.append(f"  {json.dumps(key)}: {json.dumps(reference[key])},")
    lines.append(f'  "configs": {json.dumps(reference["configs"], separators=(", ", ": "))},')
    lines.append('  "cases": [')
    for i, c in enumerate(reference["cases"]):
        head = {k: v for k, v in c.items() if k != "grid"}
        lines.append("    " + json.dumps(head, separators=(",", ":"))[:-1] + ',"grid":[')
        channels = []
        for channel in c["grid"]:
            rows = ",\n".join("      " + json.dumps(row, separators=(",", ":")) for row in channel)
            channels.append("     [\n" + rows + "]")
        lines.append(",\n".join(channels))
        lines.append("    ]}" + ("," if i < len(reference["cases"]) - 1 else ""))
    lines.append("  ]")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    fixtures = Path(sys.argv[1])
    clip_config = json.loads((SHARED / "tokenizers/clip-vit-b32/preprocessor_config.json").read_text())
    configs = {"clip": clip_config, **EXTRA_CONFIGS}
    cases = []
    for name in SAMPLES:
        cases.append(case(name, "sample", "clip", (SHARED / "images" / name).read_bytes(), clip_config))
    for name in FIXTURES:
        cases.append(case(name, "fixture", "clip", (fixtures / name).read_bytes(), clip_config))
    for name, config_name in EXTRA_CASES:
        cases.append(case(name, "sample", config_name, (SHARED / "images" / name).read_bytes(), configs[config_name]))
    reference = {
        "generator": "embeddings/src/test/python/clip_preprocess_reference.py",
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "configs": configs,
        "cases": cases,
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    write(reference, OUTPUT)
    json.loads(OUTPUT.read_text())  # it must parse
    print(f"{OUTPUT} ({OUTPUT.stat().st_size} bytes, {len(cases)} cases)")


if __name__ == "__main__":
    main()
