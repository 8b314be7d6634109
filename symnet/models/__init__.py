"""NetModel: a repository of architectures and trained nets, one readable file per family.

>>> "ResNet-50" in NetModel()
True
"""

from .registry import NetModel

__all__ = ["NetModel"]
