"""MNIST and Fashion-MNIST: 28×28 grayscale images in 10 classes, from IDX files.

``load(name, split)`` looks for the four IDX files (gzip-compressed or not) in this order:

1. ``path``, when given;
2. the system folder of a distribution package (Debian's ``dataset-fashion-mnist`` installs
   ``/usr/share/datasets/fashion-mnist``);
3. the user cache, ``$SYMNET_CACHE/<name>`` or ``~/.cache/symnet/<name>``;
4. a download of the official files into ``path`` (or the cache), checked against their MD5
   checksums. The base URL can be changed with ``base_url=`` or the environment variable
   ``SYMNET_FASHIONMNIST_URL`` / ``SYMNET_MNIST_URL`` (a mirror, or a local server in tests).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from http.client import HTTPException

from ..errors import NetError, closest
from .dataset import Dataset
from .download import download
from .idx import read_idx

SPLITS = ("train", "test")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


@dataclass(frozen=True)
class Source:
    """Where a dataset of four MNIST-style IDX files lives and how to check it."""

    name: str
    folder: str
    base_url: str
    md5: dict[str, str]
    class_names: tuple[str, ...]
    system_dirs: tuple[str, ...]
    install_hint: str

    @property
    def url_variable(self) -> str:
        return f"SYMNET_{self.name.upper().replace('-', '')}_URL"


SOURCES: dict[str, Source] = {
    "FashionMNIST": Source(
        name="FashionMNIST",
        folder="fashion-mnist",
        base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        md5={
            "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83fd310",
        },
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        install_hint="On Debian or Ubuntu: apt-get install dataset-fashion-mnist.",
    ),
    "MNIST": Source(
        name="MNIST",
        folder="mnist",
        base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
        md5={
            "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
        },
        class_names=tuple(str(d) for d in range(10)),
        system_dirs=("/usr/share/datasets/mnist",),
        install_hint="Put the four files (train-images-idx3-ubyte.gz, …) in one of these folders, or pass path=.",
    ),
}
SOURCES["Fashion-MNIST"] = SOURCES["FashionMNIST"]


def cache_dir() -> str:
    """The user cache of symnet: ``$SYMNET_CACHE``, else ``~/.cache/symnet``."""
    return os.environ.get("SYMNET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "symnet")


def _find(folder: str, filename: str) -> str | None:
    for candidate in (filename, filename.removesuffix(".gz")):
        full = os.path.join(folder, candidate)
        if os.path.isfile(full):
            return full
    return None


def _located(folders: list[str], filenames: tuple[str, ...]) -> tuple[str, ...] | None:
    for folder in folders:
        found = [_find(folder, f) for f in filenames]
        if all(found):
            return tuple(found)  # type: ignore[arg-type]
    return None


def load(name: str, split: str = "train", path: str | os.PathLike[str] | None = None, *, base_url: str | None = None, download_missing: bool = True) -> Dataset:
    """The ``split`` ("train" or "test") of the dataset ``name`` ("FashionMNIST" or "MNIST").

    See the module docstring for where the files are looked for. The result holds uint8 images
    (N, 28, 28) and int64 labels (N,); ``class_names`` names the classes.

    >>> from symnet import datasets
    >>> data = datasets.load("FashionMNIST", "test")  # doctest: +SKIP
    >>> data.images.shape, data.class_names[0]  # doctest: +SKIP
    ((10000, 28, 28), 'T-shirt/top')
    """
    source = SOURCES.get(name)
    if source is None:
        known = [k for k in SOURCES if "-" not in k]
        raise NetError(f'datasets.load: unknown dataset "{name}"; the datasets are {", ".join(known)}.{closest(str(name), known)}')
    if split not in SPLITS:
        raise NetError(f'datasets.load: split must be "train" or "test", not {split!r}.{closest(str(split), SPLITS)}')
    filenames = FILES[split]
    cache = os.path.join(cache_dir(), source.folder)
    folders = ([os.fspath(path)] if path is not None else []) + list(source.system_dirs) + [cache]
    found = _located(folders, filenames)
    if found is None:
        found = _download(source, filenames, os.fspath(path) if path is not None else cache, folders, base_url, download_missing)
    images, labels = read_idx(found[0]), read_idx(found[1])
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise NetError(f'datasets.load: "{found[0]}" and "{found[1]}" hold arrays of shapes {images.shape} and {labels.shape}; expected (N, 28, 28) images and (N,) labels.')
    return Dataset(images, labels, source.class_names, source.name, split)


def _download(source: Source, filenames: tuple[str, ...], target: str, folders: list[str], base_url: str | None, allowed: bool) -> tuple[str, ...]:
    url = base_url or os.environ.get(source.url_variable) or source.base_url
    url = url if url.endswith("/") else url + "/"
    looked = "\n  ".join(folders)
    if not allowed:
        raise NetError(f"datasets.load: {source.name} is not on this machine; looked in:\n  {looked}\n{source.install_hint}")
    paths = []
    for filename in filenames:
        destination = os.path.join(target, filename)
        existing = _find(target, filename)
        if existing is None:
            try:
                download(url + filename, destination, source.md5.get(filename))
            except (OSError, HTTPException) as error:
                reason = getattr(error, "reason", None) or error
                raise NetError(
                    f"datasets.load: {source.name} is not on this machine and cannot be downloaded from {url + filename} ({reason}).\n"
                    f"Looked in:\n  {looked}\n{source.install_hint} Or set {source.url_variable} to a mirror."
                ) from None
            existing = destination
        paths.append(existing)
    return tuple(paths)



__all__ = ["SOURCES", "Source", "cache_dir", "load"]
