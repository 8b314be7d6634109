"""NetModel: the repository of architectures and trained nets.

``NetModel()`` lists the model names; ``NetModel(name)`` gives the trained evaluation net, with
its encoder and decoder attached (an architecture without shipped weights comes uninitialized);
``NetModel(name, prop)`` a property. A family takes parameters, in either form:
``NetModel("ResNet", depth=50)`` or ``NetModel("ResNet-50")``.

Options: ``input=`` and ``output=`` replace the net's encoder and decoder (or fix other port
shapes), as Wolfram's ``NetModel[…, "Input" -> spec]``; ``weights=`` fills the architecture from
a PyTorch state dict file (safetensors, or a ``torch.save`` file read with
``weights_only=True``) in the layout of the architecture's usual PyTorch implementation
(torchvision's names for ResNet, VGG, MobileNetV2), or in timm's (ResNet, VGG, MobileNetV2, EfficientNet-Lite0),
recognised by its names; ``sha256=`` checks that file first. A URL
is downloaded once into the cache (``$SYMNET_CACHE/models``, else ``~/.cache/symnet/models``);
it needs ``sha256=``, and a file whose checksum differs is deleted, never cached.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

from ..errors import NetError, closest
from ..io import Import
from ..layers.base import Layer
from . import bert, classic, efficientnet, gpt2, mobilenet, resnet, shipped, vgg
from .entries import Family, Model
from .weights import cached_download, dotted_mapping, dotted_state_dict, package_file, read_state_dict, state_count, trainable_count, verify_sha256, with_layout, with_weights

#: every model by name, in the order NetModel() lists them
MODELS: dict[str, Model] = {m.name: m for module in (efficientnet, resnet, vgg, mobilenet, classic, bert, gpt2, shipped) for m in module.MODELS}
#: every parameterized family by name
FAMILIES: dict[str, Family] = {f.name: f for module in (resnet, vgg) for f in module.FAMILIES}

PROPERTIES = (
    "EvaluationNet", "UninitializedEvaluationNet", "ByteCount", "SourceMetadata", "TaskType", "TrainingSetData", "InputDomains", "Description",
    "ParametersInformation", "ParameterNames", "ParametersAllowedValues", "DefaultVariant", "Variants",
)
#: the properties of a family (they need no particular variant)
FAMILY_PROPERTIES = ("ParametersInformation", "ParameterNames", "ParametersAllowedValues", "DefaultVariant", "Variants")
OPTIONS = ("input", "output", "weights", "sha256")


def _unknown_name(name: Any) -> NetError:
    names = [*MODELS, *FAMILIES]
    if not isinstance(name, str):
        return NetError(f"NetModel: the model name must be a string such as {next(iter(MODELS))!r}, not {type(name).__name__} {name!r:.60}. NetModel() lists the names.")
    suggestion = closest(name, names) or closest(name.lower(), {n.lower(): n for n in names})
    listed = ", ".join(f'"{n}"' for n in names)
    return NetError(f'NetModel: there is no model "{name}".{suggestion} The models and families: {listed}.')


def _variant(family: Family, parameters: Mapping[str, Any]) -> Model:
    for key, value in parameters.items():
        if key not in family.allowed:
            allowed = ", ".join(family.allowed)
            raise NetError(f'NetModel: the family "{family.name}" has no parameter {key}=; its parameters: {allowed}.{closest(key, family.allowed)}')
        if value not in family.allowed[key]:
            allowed = ", ".join(repr(v) for v in family.allowed[key])
            raise NetError(f'NetModel: {key}={value!r} is not a variant of "{family.name}"; the allowed values are {allowed}.')
    chosen = {**family.defaults, **parameters}
    return MODELS[family.variant(**chosen)]


def resolve(name: Any, parameters: Mapping[str, Any]) -> tuple[Model | None, Family | None]:
    """The model (and its family) that a name and family parameters select."""
    if isinstance(name, str) and name in FAMILIES:
        family = FAMILIES[name]
        return _variant(family, parameters), family
    if not isinstance(name, str) or name not in MODELS:
        raise _unknown_name(name)
    model = MODELS[name]
    family = FAMILIES.get(model.family) if model.family else None
    if parameters:
        if family is None:
            raise NetError(f'NetModel: "{name}" is not a family and takes no parameters, but received {", ".join(f"{k}=" for k in parameters)}.')
        chosen = _variant(family, {**model.parameters, **parameters})
        if chosen is not model:
            raise NetError(f'NetModel: "{name}" has {", ".join(f"{k}={v!r}" for k, v in model.parameters.items())}, which conflicts with {", ".join(f"{k}={v!r}" for k, v in parameters.items())}. Fix: NetModel("{family.name}", {", ".join(f"{k}={v!r}" for k, v in parameters.items())}).')
    return model, family


@functools.cache
def _trained(name: str) -> Layer:
    """The trained net with its default ports (cached: a net is an immutable value)."""
    model = MODELS[name]
    if model.shipped is not None:
        return _load_shipped(model)
    assert model.weights is not None
    return _load_packaged(model, model.build())


def _load_shipped(model: Model, net: Layer | None = None) -> Layer:
    """A net symnet trained and ships (its file checked against the SHA-256 its training recorded);
    with ``net`` (the architecture with other ports), that net holding the shipped arrays."""
    path = shipped.shipped_file(model.name)
    expected = shipped.shipped_record(model.name).get("SHA256")
    if not path.exists() or expected is None:
        raise NetError(f'NetModel: the trained net "{model.name}" is not in this installation (looked for {path} and its SHA-256 in shipped.json). '
                       "Fix: reinstall symnet, or run scripts/train_shipped.py in a source checkout.")
    verify_sha256(path, expected)
    trained = Import(path)
    if net is None:
        return trained
    return with_weights(net, dotted_state_dict(trained), dotted_mapping(net), str(path))

def _load_packaged(model: Model, net: Layer) -> Layer:
    weights = model.weights
    assert weights is not None and model.torch_mapping is not None
    path = package_file(weights.package, weights.file, weights.distribution, weights.install)
    verify_sha256(path, weights.sha256)
    return with_layout(net, _state(model, path), model.layouts(), str(path))


def _state(model: Model, path: Any) -> dict[str, Any]:
    state = read_state_dict(path)
    return model.convert_state(state) if model.convert_state is not None else state


def _from_file(model: Model, net: Layer, weights: Any, sha256: str | None) -> Layer:
    if model.torch_mapping is None:
        raise NetError(f'NetModel: "{model.name}" has no PyTorch layout to read weights= from.')
    if not isinstance(weights, str | os.PathLike):
        raise NetError(f"NetModel: weights= must be the path or URL of a state dict file (.safetensors or .pt/.pth), not {type(weights).__name__}.")
    if isinstance(weights, str) and weights.startswith(("http://", "https://")):
        weights = cached_download(weights, sha256)
    elif sha256 is not None:
        verify_sha256(weights, sha256)
    return with_layout(net, _state(model, weights), model.layouts(), os.fspath(weights))


def evaluation_net(model: Model, *, input: Any = None, output: Any = None, weights: Any = None, sha256: str | None = None, trained: bool = True) -> Layer:
    """The model's net: trained when weights exist (or ``weights=`` gives them), else uninitialized."""
    if weights is not None:
        return _from_file(model, model.build(input=input, output=output), weights, sha256)
    if sha256 is not None:
        raise NetError("NetModel: sha256= checks a weights= file; give weights= too.")
    if not trained or (model.weights is None and model.shipped is None):
        return model.build(input=input, output=output)
    if input is None and output is None:
        return _trained(model.name)
    if model.shipped is not None:
        return _load_shipped(model, model.build(input=input, output=output))
    return _load_packaged(model, model.build(input=input, output=output))


def _parameters_information(family: Family) -> dict[str, dict[str, Any]]:
    return {key: {"Description": family.descriptions[key], "AllowedValues": family.allowed[key], "Default": family.defaults[key]} for key in family.allowed}


def _property(model: Model | None, family: Family | None, prop: str, options: Mapping[str, Any]) -> Any:
    if prop in FAMILY_PROPERTIES:
        if family is None:
            raise NetError(f'NetModel: "{model.name if model else ""}" is not a parameterized family, so it has no "{prop}".')
        if prop == "ParametersInformation":
            return _parameters_information(family)
        if prop == "ParameterNames":
            return list(family.allowed)
        if prop == "ParametersAllowedValues":
            return {k: list(v) for k, v in family.allowed.items()}
        if prop == "DefaultVariant":
            return family.variant(**family.defaults)
        return [name for name, m in MODELS.items() if m.family == family.name]
    assert model is not None
    if prop == "EvaluationNet":
        if model.weights is None and model.shipped is None and options.get("weights") is None:
            raise NetError(
                f'NetModel: "{model.name}" is an architecture without shipped weights. '
                f'Fix: NetModel("{model.name}", "UninitializedEvaluationNet") to train it, or NetModel("{model.name}", weights=<PyTorch state dict file>).'
            )
        return evaluation_net(model, **options)
    if prop == "UninitializedEvaluationNet":
        return evaluation_net(model, **{**options, "weights": None, "sha256": None}, trained=False)
    if prop == "ByteCount":
        net = model.build()
        return 4 * (trainable_count(net) + state_count(net))  # float32 arrays
    if prop == "SourceMetadata":
        return _source_metadata(model)
    if prop == "TaskType":
        return model.task
    if prop == "TrainingSetData":
        return model.training_set
    if prop == "InputDomains":
        return list(model.input_domains)
    return model.description


def _source_metadata(model: Model) -> dict[str, Any]:
    if model.shipped is not None:
        path = shipped.shipped_file(model.name)
        return {**model.source, "File": str(path) if path.exists() else None}
    if model.weights is None:
        return {**model.source, "Weights": None}
    weights = model.weights
    try:
        path: str | None = str(package_file(weights.package, weights.file, weights.distribution, weights.install))
    except NetError:
        path = None
    return {**weights.source, "Package": weights.distribution, "File": path, "SHA256": weights.sha256}


def NetModel(name: Any = None, prop: str | None = None, /, **options: Any) -> Any:
    """A model of the repository, a property of it, or (with no arguments) the list of names.

    >>> NetModel()[:2]
    ['EfficientNet-Lite0 Trained on ImageNet', 'ResNet-18']
    >>> NetModel("ResNet", "Variants")
    ['ResNet-18', 'ResNet-34', 'ResNet-50', 'ResNet-101', 'ResNet-152']
    >>> net = NetModel("ResNet", "UninitializedEvaluationNet", depth=50)
    >>> net.initialized, NetInformation(net, "ArraysTotalElementCount")
    (False, 25610152)
    >>> NetModel("ResNet-5O")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symnet.errors.NetError: NetModel: there is no model "ResNet-5O". Did you mean "ResNet-50"? The models and families: ...
    """
    if name is None:
        if prop is not None or options:
            raise NetError("NetModel: give a model name first, such as NetModel(\"ResNet-50\", \"TaskType\"); NetModel() alone lists the names.")
        return list(MODELS)
    parameters = {k: v for k, v in options.items() if k not in OPTIONS}
    net_options = {k: v for k, v in options.items() if k in OPTIONS}
    model, family = resolve(name, parameters)
    if prop is None:
        return evaluation_net(model, **net_options)  # type: ignore[arg-type]
    if prop not in PROPERTIES:
        listed = ", ".join(f'"{p}"' for p in PROPERTIES)
        raise NetError(f'NetModel: unknown property "{prop}"; the properties are {listed}.{closest(str(prop), PROPERTIES)}')
    return _property(model, family, prop, net_options)


__all__ = ["FAMILIES", "MODELS", "NetModel", "PROPERTIES"]
