"""Datasets: MNIST and Fashion-MNIST from IDX files, image folders, and a seeded split.

>>> from symnet import datasets
>>> sorted(name for name in datasets.SOURCES if "-" not in name)
['FashionMNIST', 'MNIST']
"""

from .dataset import Dataset
from .download import download, md5_of
from .folder import IMAGE_EXTENSIONS, ImageFolder
from .idx import read_idx, write_idx
from .mnist import SOURCES, Source, cache_dir, load
from .split import split, split_indices

__all__ = ["IMAGE_EXTENSIONS", "SOURCES", "Dataset", "ImageFolder", "Source", "cache_dir", "download", "load", "md5_of", "read_idx", "split", "split_indices", "write_idx"]
