"""ImageFolder: a folder with one sub-folder of image files per class."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import NetError
from .dataset import check_indices

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class ImageFolder:
    """The image files under ``path/<class name>/``, as (file, class name) pairs.

    Classes are the sub-folders in sorted order (class index i is ``class_names[i]``, and
    ``labels`` holds each file's class index); files are the ones with an image extension,
    sorted. ``arrays()`` gives (files, class names), the form NetTrain and NetMeasurements take
    with an Image encoder on the input and ``NetDecoder("Class", folder.class_names)`` (or the
    names in any order) on the output; ``(folder.files, folder.labels)`` suits a net that
    outputs class indices without a decoder.

    >>> import tempfile, os
    >>> from symnet.datasets import ImageFolder
    >>> root = tempfile.mkdtemp()
    >>> for name in ("cat", "dog"):
    ...     os.makedirs(os.path.join(root, name))
    ...     open(os.path.join(root, name, "a.png"), "wb").close()
    >>> folder = ImageFolder(root)
    >>> folder.class_names, len(folder), folder.labels.tolist(), folder.arrays()[1].tolist()
    (('cat', 'dog'), 2, [0, 1], ['cat', 'dog'])
    """

    def __init__(self, path: str | os.PathLike[str], extensions: tuple[str, ...] = IMAGE_EXTENSIONS, *, _files: Any = None) -> None:
        self.path = os.fspath(path)
        if _files is not None:
            self.files, self.labels, self.class_names = _files
            return
        if not os.path.isdir(self.path):
            raise NetError(f'ImageFolder: "{self.path}" is not a folder; give a folder with one sub-folder of images per class.')
        classes = sorted(entry.name for entry in os.scandir(self.path) if entry.is_dir() and not entry.name.startswith("."))
        if not classes:
            raise NetError(f'ImageFolder: "{self.path}" has no sub-folders; put the images of each class in a sub-folder named after the class.')
        files: list[str] = []
        labels: list[int] = []
        wanted = tuple(e.lower() for e in extensions)
        for index, name in enumerate(classes):
            folder = os.path.join(self.path, name)
            names = sorted(entry.name for entry in os.scandir(folder) if entry.is_file() and entry.name.lower().endswith(wanted))
            files += [os.path.join(folder, n) for n in names]
            labels += [index] * len(names)
        if not files:
            raise NetError(f'ImageFolder: the sub-folders of "{self.path}" ({", ".join(classes[:5])}…) hold no image files ({", ".join(extensions)}).')
        self.files: tuple[str, ...] = tuple(files)
        self.labels: np.ndarray = np.asarray(labels, dtype=np.int64)
        self.class_names: tuple[str, ...] = tuple(classes)

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        names = self.class_names
        for file, label in zip(self.files, self.labels.tolist()):
            yield file, names[label]

    def __getitem__(self, index: int) -> tuple[str, str]:
        return self.files[index], self.class_names[int(self.labels[index])]

    def pairs(self) -> list[tuple[str, str]]:
        """Every (file, class name) pair."""
        return list(self)

    def arrays(self) -> tuple[list[str], np.ndarray]:
        """(files, names): the file paths and their class names (a string array).

        Names, not indices: a Class decoder maps names to its own classes whatever their
        order, while bare indices would be read as its labels and refused (or, for a decoder
        of integer labels, silently mismatched)."""
        return list(self.files), np.asarray(self.class_names)[self.labels]

    def subset(self, indices: Any) -> ImageFolder:
        """The files at ``indices`` (ints or a boolean mask), as a new ImageFolder."""
        chosen = check_indices(indices, len(self), "ImageFolder.subset")
        files = tuple(self.files[i] for i in chosen.tolist())
        return ImageFolder(self.path, _files=(files, self.labels[chosen], self.class_names))

    def __repr__(self) -> str:
        return f'ImageFolder("{self.path}", {len(self)} files, {len(self.class_names)} classes)'


__all__ = ["IMAGE_EXTENSIONS", "ImageFolder"]
