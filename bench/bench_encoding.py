"""Speed of the Image encoder against the plain code it replaces.

(a) Encoding the 60,000 Fashion-MNIST training images (uint8 (N, 28, 28)) into a float batch
    tensor (N, 1, 28, 28) with ``NetEncoder("Image", size=(28, 28), color_space="Grayscale")``
    versus ``torch.from_numpy(x).float().div_(255).unsqueeze(1)``: ratio encoder/torch (goal ≤ 1.1).
(b) Decoding 2,000 PNG files of an ImageFolder with the encoder (a thread pool) versus a plain
    sequential Pillow loop producing the same tensor: speed-up (goal ≥ 1.6× on 2 cores).

Variants run interleaved (A B A B …) and medians are reported, since absolute rates swing on
shared machines. The images are the real Fashion-MNIST ones when installed (otherwise random).

    .venv/bin/python bench/bench_encoding.py [--repeats N] [--files N] [--size PIXELS]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image

from symnet import NetEncoder, datasets
from symnet.datasets import ImageFolder


def train_images() -> tuple[np.ndarray, np.ndarray, str]:
    try:
        data = datasets.load("FashionMNIST", "train", download_missing=False)
        return data.images, data.labels, "Fashion-MNIST train"
    except Exception as error:  # the benchmark still runs without the dataset
        print(f"(Fashion-MNIST not found: {str(error).splitlines()[0]}; using random images)")
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8), rng.integers(0, 10, 60000), "random"


def interleaved(variants: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def bench_array_encoding(images: np.ndarray, repeats: int) -> None:
    encoder = NetEncoder("Image", size=(28, 28), color_space="Grayscale")
    plain = torch.from_numpy(images).float().div_(255).unsqueeze(1)
    encoded, _ = encoder.encode(images)
    assert torch.equal(encoded, plain)
    medians = interleaved({"encoder": lambda: encoder.encode(images), "torch": lambda: torch.from_numpy(images).float().div_(255).unsqueeze(1)}, repeats)
    ratio = medians["encoder"] / medians["torch"]
    print(f"(a) encode {len(images):,} 28x28 uint8 images: encoder {medians['encoder'] * 1e3:.2f} ms, plain torch {medians['torch'] * 1e3:.2f} ms, ratio {ratio:.3f} (goal <= 1.1)")


def sequential_pillow(files: list[str], size: tuple[int, int]) -> torch.Tensor:
    """What one would write by hand: open, convert, resize, stack, scale."""
    arrays = []
    for file in files:
        with Image.open(file) as image:
            image = image.convert("L")
            if image.size != size:
                image = image.resize(size, Image.Resampling.BILINEAR)
            arrays.append(np.asarray(image))
    return torch.from_numpy(np.stack(arrays)).float().div_(255).unsqueeze(1)


def bench_file_decoding(images: np.ndarray, labels: np.ndarray, count: int, pixels: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as root:
        for index in range(count):
            folder = os.path.join(root, f"class{int(labels[index])}")
            os.makedirs(folder, exist_ok=True)
            image = Image.fromarray(images[index])
            if pixels != 28:
                image = image.resize((pixels, pixels), Image.Resampling.BICUBIC)
            image.save(os.path.join(folder, f"{index:05d}.png"))
        files, _ = ImageFolder(root).arrays()
        encoder = NetEncoder("Image", size=(pixels, pixels), color_space="Grayscale")
        assert torch.equal(encoder.encode(files)[0], sequential_pillow(files, (pixels, pixels)))
        medians = interleaved({"parallel": lambda: encoder.encode(files), "sequential": lambda: sequential_pillow(files, (pixels, pixels))}, repeats)
    speedup = medians["sequential"] / medians["parallel"]
    print(
        f"(b) decode {count:,} {pixels}x{pixels} PNG files on {os.cpu_count()} cores: parallel encoder {medians['parallel'] * 1e3:.0f} ms, "
        f"sequential Pillow loop {medians['sequential'] * 1e3:.0f} ms, speed-up {speedup:.2f}x (goal >= 1.6x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, nargs="+", default=[28, 128], help="PNG side lengths to try in (b)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    images, labels, source = train_images()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"images: {source}, {images.shape}, torch {torch.__version__}, {os.cpu_count()} cores, load average {load} (parallel speed-ups need idle cores)")
    bench_array_encoding(images, args.repeats)
    for pixels in args.size:
        bench_file_decoding(images, labels, args.files, pixels, max(3, args.repeats // 3))


if __name__ == "__main__":
    main()
