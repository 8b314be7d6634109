"""NetEncoder and NetDecoder: the data pipeline as part of the net.

``NetEncoder(kind, ...)`` and ``NetDecoder(kind, ...)`` return the coder dataclass for a kind;
the arguments after the kind are that class's fields, positionally or by name, following the
Wolfram forms: ``NetEncoder[{"Image", {28, 28}, ColorSpace -> "Grayscale"}]`` is
``NetEncoder("Image", size=(28, 28), color_space="Grayscale")`` and
``NetDecoder[{"Class", {"cat", "dog"}}]`` is ``NetDecoder("Class", ["cat", "dog"])``.
``NetDecoder(encoder)`` is the encoder's inverse (and ``NetEncoder(decoder)`` the decoder's).

=================  ==========================================  ===============================
kind               encoder gives                               decoder answers
=================  ==========================================  ===============================
"Image"            float32 (C, H, W)                           PIL images
"Class"            an index ``Index(n)`` or a unit vector      labels, probabilities, …
"Boolean"          a real 0/1                                  True/False, probabilities
"Characters"       ("Varying",) indices                        strings
"Tokens"           ("Varying",) indices                        strings
"SubwordTokens"    ("Varying",) token ids (tokenizers)         strings
"Function"         whatever the function gives                 whatever the function gives
=================  ==========================================  ===============================

Attach them to a net's ports: ``NetChain([...], input=NetEncoder(...), output=NetDecoder(...))``.
Every coder has ``to_spec()``, a JSON-able dict, and :func:`coder_from_spec` reads it back.

>>> net = NetInitialize(NetChain([LinearLayer(2), SoftmaxLayer()], input=NetEncoder("Image", size=(4, 4), color_space="Grayscale"), output=NetDecoder("Class", ["cat", "dog"])))
>>> net(np.zeros((4, 4), np.uint8)) in ("cat", "dog")
True
>>> sorted(net(np.zeros((4, 4), np.uint8), "Probabilities"))
['cat', 'dog']
"""

from __future__ import annotations

from typing import Any

from ..errors import NetError, closest
from .base import REGISTRY, Coder
from .decoders import BooleanDecoder, ClassDecoder, FunctionDecoder
from .encoders import BooleanEncoder, ClassEncoder, FunctionEncoder
from .image import ImageDecoder, ImageEncoder
from .text import CharactersDecoder, CharactersEncoder, SubwordTokensDecoder, SubwordTokensEncoder, TokensDecoder, TokensEncoder


def _make(role: str, kind: Any, args: tuple[Any, ...], options: dict[str, Any]) -> Coder:
    if isinstance(kind, Coder):
        if args or options:
            raise NetError(f"{role}({kind!r}) takes no further arguments; it gives the inverse of the {kind.role[3:].lower()}.")
        if kind.role == role:
            return kind
        return kind.inverse()  # type: ignore[attr-defined, no-any-return]
    kinds = sorted(k for r, k in REGISTRY if r == role)
    cls = REGISTRY.get((role, kind)) if isinstance(kind, str) else None
    if cls is None:
        listed = ", ".join(f'"{k}"' for k in kinds)
        raise NetError(f"{role}: unknown kind {kind!r}; the kinds are {listed}.{closest(str(kind), kinds)}")
    try:
        return cls(*args, **options)
    except TypeError as error:
        import dataclasses

        names = [f.name for f in dataclasses.fields(cls) if f.repr]  # type: ignore[arg-type]
        raise NetError(f'{role}("{kind}"): {str(error).split("__init__() ")[-1]}; its parameters are {", ".join(names)}.') from None


def NetEncoder(kind: Any, *args: Any, **options: Any) -> Any:
    """An encoder of the given kind (see the module docstring), or the inverse of a decoder.

    >>> NetEncoder("Image", (28, 28), color_space="Grayscale").port_type
    TensorType((1, 28, 28))
    >>> NetEncoder("Class", ["cat", "dog"]).encode("dog")
    (tensor([1]), False)
    """
    return _make("NetEncoder", kind, args, options)


def NetDecoder(kind: Any, *args: Any, **options: Any) -> Any:
    """A decoder of the given kind (see the module docstring), or the inverse of an encoder.

    >>> NetDecoder(NetEncoder("Class", ["cat", "dog"]))
    NetDecoder("Class", labels=("cat", "dog"))
    >>> NetDecoder("Class", ["cat", "dog"]).decode(torch.tensor([[0.2, 0.8]]), "Probabilities")
    [{'cat': 0.20000000298023224, 'dog': 0.800000011920929}]
    """
    return _make("NetDecoder", kind, args, options)


def coder_from_spec(spec: dict[str, Any], allow_functions: bool = False) -> Any:
    """The coder a ``to_spec()`` dict describes. Specs naming a Python function (the
    "Function" kind) are refused unless ``allow_functions=True``, since importing runs code.

    >>> coder_from_spec(NetEncoder("Class", ["a", "b"], "UnitVector").to_spec())
    NetEncoder("Class", labels=("a", "b"), encoding="UnitVector")
    """
    if not isinstance(spec, dict) or "coder" not in spec or "kind" not in spec:
        raise NetError(f'coder_from_spec: expected a dict with "coder" and "kind" (from to_spec()), received {spec!r}.')
    cls = REGISTRY.get((spec["coder"], spec["kind"]))
    if cls is None:
        raise NetError(f'coder_from_spec: unknown coder {spec["coder"]}("{spec["kind"]}"); the file may come from a newer symnet.')
    return cls.from_spec(spec, allow_functions=allow_functions)


def is_coder(value: Any) -> bool:
    """Whether ``value`` is a symnet encoder or decoder."""
    return isinstance(value, Coder)


__all__ = [
    "BooleanDecoder",
    "BooleanEncoder",
    "CharactersDecoder",
    "CharactersEncoder",
    "ClassDecoder",
    "ClassEncoder",
    "Coder",
    "FunctionDecoder",
    "FunctionEncoder",
    "ImageDecoder",
    "ImageEncoder",
    "NetDecoder",
    "NetEncoder",
    "SubwordTokensDecoder",
    "SubwordTokensEncoder",
    "TokensDecoder",
    "TokensEncoder",
    "coder_from_spec",
    "is_coder",
]
