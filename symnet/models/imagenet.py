"""ImageNet (ILSVRC-2012): its 1,000 class names and the Class decoder built from them.

``data/imagenet_classes.txt`` holds one name per line in the index order of the standard
ILSVRC-2012 synsets (the order every ImageNet-trained net's outputs use), the first lemma of
each synset. Two lemmas occur twice in that list, and a Class decoder needs distinct labels, so
they say which synset they are: 134 "crane (bird)" and 517 "crane (machine)"; 638 "maillot"
(tights) and 639 "tank suit" (the synset "maillot, tank suit").

>>> labels = imagenet_classes()
>>> len(labels), labels[281], labels[967]
(1000, 'tabby', 'espresso')
"""

from __future__ import annotations

import functools
from importlib import resources

from ..coders import NetDecoder

#: the pixel conventions of nets trained on ImageNet in PyTorch (torchvision's normalization)
TORCH_MEAN = (0.485, 0.456, 0.406)
TORCH_STD = (0.229, 0.224, 0.225)


@functools.cache
def imagenet_classes() -> tuple[str, ...]:
    """The 1,000 ImageNet class names, index order."""
    text = resources.files(__package__).joinpath("data/imagenet_classes.txt").read_text(encoding="utf-8")
    return tuple(line for line in text.splitlines() if line)


def imagenet_decoder() -> NetDecoder:
    """A Class decoder for the 1,000 ImageNet classes."""
    return NetDecoder("Class", list(imagenet_classes()))


__all__ = ["TORCH_MEAN", "TORCH_STD", "imagenet_classes", "imagenet_decoder"]
