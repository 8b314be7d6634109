"""NetTrain's options: names, methods with their suboptions, learning-rate rules and schedules.

``method`` is a name or ``(name, {suboption: value})``:

- "ADAM" (default): ``beta1`` 0.9, ``beta2`` 0.999, ``epsilon`` 1e-8;
- "AdamW": the same with decoupled ``weight_decay`` (default 0.01);
- "SGD": ``momentum`` 0.9 (``nesterov`` False);
- "RMSProp": ``beta`` 0.99 (the squared-gradient decay), ``momentum`` 0, ``epsilon`` 1e-8;

and for all of them ``l2_regularization`` (a penalty added to the gradient, as weight decay),
``gradient_clipping`` (the largest gradient norm), ``learning_rate_schedule`` ("Cosine",
"OneCycle", "Constant", "Linear", or a function giving a factor for the learning rate: Wolfram's
``f(batch, total)`` with the batch number counted from 1 and the total number of batches, or
``f(progress)`` with the fraction of training done) and ``warmup`` (a fraction of training, or a number of batches, with linearly
increasing learning rate).
"""

from __future__ import annotations

import fnmatch
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from .. import prepare
from ..containers.tree import is_container
from ..errors import NetError, OptionError, boolean, closest, number, one_of

METHODS = {"ADAM": "Adam", "AdamW": "AdamW", "SGD": "SGD", "RMSProp": "RMSprop"}
METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "ADAM": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    "AdamW": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01},
    "SGD": {"momentum": 0.9, "nesterov": False},
    "RMSProp": {"beta": 0.99, "momentum": 0.0, "epsilon": 1e-8},
}
COMMON_SUBOPTIONS = {"l2_regularization": 0.0, "gradient_clipping": None, "learning_rate_schedule": "Cosine", "warmup": 0.0}
AUTOMATIC_LEARNING_RATES = {"ADAM": 2e-3, "AdamW": 2e-3, "SGD": 0.05, "RMSProp": 1e-3}
SCHEDULES = ("Cosine", "OneCycle", "Constant", "Linear")
# suboption: (minimum, maximum, exclusive minimum, exclusive maximum), checked before torch sees them
SUBOPTION_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "beta1": (0, 1, False, True), "beta2": (0, 1, False, True), "beta": (0, 1, False, True), "momentum": (0, None, False, False),
    "epsilon": (0, None, True, False), "weight_decay": (0, None, False, False), "l2_regularization": (0, None, False, False),
}
PRECISIONS = tuple(prepare.PRECISIONS)


def choice(value: Any, allowed: tuple[str, ...] | Mapping[str, Any], what: str) -> str:
    return one_of(value, allowed, where="NetTrain", option=what)


@dataclass
class Method:
    """An optimizer and its suboptions, resolved."""

    name: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def schedule(self) -> Any:
        return self.settings["learning_rate_schedule"]

    @property
    def implementation(self) -> str:
        """How torch runs the update: "fused" (one kernel per parameter group, torch's
        ``fused=True``) where torch has it for the method, else "foreach" (batched over arrays)."""
        return "foreach" if self.name == "RMSProp" else "fused"

    def optimizer(self, groups: list[dict[str, Any]], learning_rate: float, implementation: str | None = None) -> torch.optim.Optimizer:
        """The torch optimizer, run as ``implementation`` ("fused", "foreach" or "loop"; None: :attr:`implementation`).

        Fused updates are the arithmetic of torch's per-array loop (equal to float rounding) but far
        cheaper on a CPU: Adam's step for the notebook CNN took 15 ms fused, 22 ms foreach and 67 ms
        as a loop on 2 busy cores; 73 against 166 ms for a 670k-array MLP.
        """
        s = self.settings
        decay = s["l2_regularization"]
        chosen = implementation or self.implementation
        fast = {"fused": True} if chosen == "fused" else {"foreach": chosen == "foreach"}  # "loop": torch's per-array reference
        if self.name == "ADAM":
            return torch.optim.Adam(groups, lr=learning_rate, betas=(s["beta1"], s["beta2"]), eps=s["epsilon"], weight_decay=decay, **fast)
        if self.name == "AdamW":
            return torch.optim.AdamW(groups, lr=learning_rate, betas=(s["beta1"], s["beta2"]), eps=s["epsilon"], weight_decay=s["weight_decay"], **fast)
        if self.name == "SGD":
            return torch.optim.SGD(groups, lr=learning_rate, momentum=s["momentum"], nesterov=s["nesterov"], weight_decay=decay, **fast)
        return torch.optim.RMSprop(groups, lr=learning_rate, alpha=s["beta"], eps=s["epsilon"], momentum=s["momentum"], weight_decay=decay, foreach=chosen != "loop")


def parse_method(spec: Any) -> Method:
    """``"ADAM"`` or ``("SGD", {"momentum": 0.5})`` → a Method with every suboption filled in."""
    if isinstance(spec, tuple | list) and spec and isinstance(spec[0], str):
        name, given = spec[0], {}
        for item in spec[1:]:
            if not isinstance(item, Mapping):
                raise OptionError(f"NetTrain: method={spec!r}: give the suboptions as a dict, such as (\"SGD\", {{\"momentum\": 0.9}}).")
            given.update(item)
    elif isinstance(spec, str):
        name, given = spec, {}
    else:
        raise OptionError(f'NetTrain: method={spec!r} is not a method; use "ADAM", "AdamW", "SGD" or "RMSProp", or (name, {{suboption: value}}).')
    choice(name, METHODS, "method")
    settings = {**METHOD_DEFAULTS[name], **COMMON_SUBOPTIONS}
    for key, value in given.items():
        if key not in settings:
            raise OptionError(f'NetTrain: method "{name}" has no suboption {key!r}.{closest(str(key), settings)} Its suboptions: {", ".join(settings)}.')
        settings[key] = value
    for key, (low, high, exclusive_low, exclusive_high) in SUBOPTION_RANGES.items():
        if key in given:
            settings[key] = number(given[key], where=f'NetTrain: method "{name}"', option=key, minimum=low, maximum=high,
                                   exclusive_minimum=exclusive_low, exclusive_maximum=exclusive_high)
    if "nesterov" in given:
        settings["nesterov"] = boolean(given["nesterov"], where=f'NetTrain: method "{name}"', option="nesterov")
    warmup = settings["warmup"]
    if "warmup" in given and not (isinstance(warmup, int) and not isinstance(warmup, bool) and warmup >= 1):
        settings["warmup"] = number(warmup, where=f'NetTrain: method "{name}"', option="warmup", minimum=0, maximum=1, exclusive_maximum=True,
                                    fix="Give a fraction of training in [0, 1) or a whole number of batches.")
    schedule = settings["learning_rate_schedule"]
    if callable(schedule):
        settings["schedule_arguments"] = schedule_arguments(schedule)
    else:
        choice(schedule, SCHEDULES, "learning_rate_schedule")
    clip = settings["gradient_clipping"]
    if clip is not None and not (isinstance(clip, int | float) and clip > 0):
        raise OptionError(f"NetTrain: gradient_clipping={clip!r} must be a positive number (the largest gradient norm) or None.")
    return Method(name, settings)


SCHEDULE_FORMS = "f(batch, total) (Wolfram's form: the batch number, counted from 1, and the total number of batches) or f(progress) (the fraction of training done, from 0 to 1)"


def schedule_arguments(schedule: Callable[..., Any]) -> int:
    """How many arguments a learning-rate schedule takes: 2 (batch, total) or 1 (progress)."""
    try:
        signature = inspect.signature(schedule)
    except (TypeError, ValueError):
        return 1  # a builtin without a signature: assume f(progress)
    positional = [p for p in signature.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(1 for p in positional if p.default is p.empty)
    required_keywords = [p for p in signature.parameters.values() if p.kind == p.KEYWORD_ONLY and p.default is p.empty]
    if not required_keywords:
        if required in (1, 2):
            return required
        if required == 0 and (len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in signature.parameters.values())):
            return 2
        if required == 0 and len(positional) == 1:
            return 1
    name = getattr(schedule, "__name__", type(schedule).__name__)
    raise OptionError(f"NetTrain: learning_rate_schedule: the function {name}{signature} must take {SCHEDULE_FORMS}, giving a factor for the learning rate.")


def check_schedule(method: Method, total_steps: int | None) -> None:
    """Call a custom schedule once before training, so that a bad one fails before the first batch."""
    schedule = method.schedule
    if not callable(schedule):
        return
    arguments = (1, total_steps or 1) if method.settings["schedule_arguments"] == 2 else (1 / total_steps if total_steps else 0.0,)
    try:
        value = schedule(*arguments)
    except Exception as error:
        raise OptionError(f"NetTrain: learning_rate_schedule{arguments} raised {type(error).__name__}: {error}; it must take {SCHEDULE_FORMS} and return a number.") from None
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if not (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0):
        raise OptionError(f"NetTrain: learning_rate_schedule{arguments} returned {value!r}; it must return a number ≥ 0 (a factor for the learning rate).")


def schedule_factor(method: Method, progress: float, step: int, total_steps: int | None) -> float:
    """The learning-rate factor at ``progress`` ∈ [0, 1] of training, for the batch numbered ``step`` (from 1).

    A custom schedule ``f(batch, total)`` gets the batch number and the total number of batches
    (an estimate from the time so far when training runs to a time goal); ``f(progress)`` gets the
    fraction of training done. Warmup, when given, comes first for both.
    """
    warmup = method.settings["warmup"]
    schedule = method.schedule
    if schedule == "OneCycle" and not warmup:
        warmup = 0.3
    if warmup:
        warm_fraction = warmup if warmup < 1 else (warmup / total_steps if total_steps else 0.0)
        if progress < warm_fraction:
            return (progress + 1e-12) / warm_fraction
        progress = (progress - warm_fraction) / max(1 - warm_fraction, 1e-12)
    progress = min(max(progress, 0.0), 1.0)
    if callable(schedule):
        if method.settings.get("schedule_arguments") == 2:
            total = total_steps or max(step, round(step / max(progress, 1e-9)))
            return float(schedule(step, total))
        return float(schedule(progress))
    if schedule == "Constant":
        return 1.0
    if schedule == "Linear":
        return 1.0 - progress
    # "Cosine" and "OneCycle" decay along half a cosine, to a small floor rather than zero
    return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class MultiplierRule:
    """One ``learning_rate_multipliers`` rule, resolved against the net: a path from the top
    (and optionally one array of the layer it reaches), or a glob matching names at any depth."""

    key: Any
    factor: float
    path: tuple[str, ...] = ()
    array: str | None = None
    glob: str | None = None

    def matches(self, path: tuple[str, ...], array: str) -> bool:
        if self.glob is not None:
            return any(fnmatch.fnmatchcase(part, self.glob) for part in path) or fnmatch.fnmatchcase("/".join(path), self.glob)
        return path[: len(self.path)] == self.path and (self.array is None or self.array == array)


def _is_glob(text: str) -> bool:
    return "*" in text or "?" in text


def parse_multipliers(rules: Any, net: Any) -> list[MultiplierRule]:
    """``learning_rate_multipliers`` as rules, checked against the net before training.

    A key is Wolfram's part specification: an index or name is a layer at the top of the net
    (with everything inside it, when it is a container); a tuple or list such as ``(0, 1)`` or
    ``("block", "conv1")`` is a path into nested containers, and may end with an array name
    (``(0, "Biases")``: that array alone); a string with ``*`` or ``?`` (``"*"``, ``"conv*"``)
    matches layer names at any depth. The first rule that matches an array gives its factor;
    0 freezes it.
    """
    if rules is None:
        return []
    if not isinstance(rules, Mapping | list | tuple):
        raise OptionError(f"NetTrain: learning_rate_multipliers={rules!r} must be a dict of layer name/path/pattern → factor, such as {{\"classifier\": 1, \"*\": 0}}.")
    items = list(rules.items()) if isinstance(rules, Mapping) else list(rules)
    parsed = []
    for item in items:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise OptionError(f"NetTrain: learning_rate_multipliers: {item!r} is not a (layer, factor) pair.")
        key, factor = item
        if not isinstance(factor, int | float) or isinstance(factor, bool) or not factor >= 0:
            raise OptionError(f"NetTrain: learning_rate_multipliers: the factor for {key!r} must be a number ≥ 0, not {factor!r}.")
        if isinstance(key, str) and _is_glob(key):
            parsed.append(MultiplierRule(key, float(factor), glob=key))
            continue
        if isinstance(key, str):
            parts: list[Any] = key.split("/")
        elif isinstance(key, int) and not isinstance(key, bool):
            parts = [key]
        elif isinstance(key, tuple | list) and key and all(isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) for p in key):
            parts = list(key)
        else:
            raise OptionError(f"NetTrain: learning_rate_multipliers: {key!r} is not a layer index, name, path (a tuple such as (0, 1) or (\"block\", \"conv1\")) or pattern such as \"conv*\".")
        path, array = _resolve(net, parts, key)
        parsed.append(MultiplierRule(key, float(factor), path, array))
    return parsed


def _resolve(net: Any, parts: list[Any], key: Any) -> tuple[tuple[str, ...], str | None]:
    """(path of keys, array name or None) of a part specification; an error names what is missing."""
    where = f"NetTrain: learning_rate_multipliers: {key!r}"
    layer, path = net, ()
    for position, part in enumerate(parts):
        if is_container(layer):
            try:
                name = layer.key_of(part)
            except NetError as error:
                at = f" at {'/'.join(path)}" if path else ""
                raise OptionError(f"{where}: the {layer.kind}{at} {str(error).split(' ', 1)[1]}") from None
            path = (*path, name)
            layer = layer.layers[name]
            continue
        arrays = list(layer.array_names())
        if position == len(parts) - 1 and isinstance(part, str) and part in arrays:
            return path, part
        listed = ", ".join(f'"{a}"' for a in arrays) or "none"
        hint = closest(str(part), arrays) if isinstance(part, str) else ""
        raise OptionError(f"{where}: {'/'.join(path) or 'the net'} is a {layer.kind}, which has no layer {part!r} and no array {part!r}; its arrays: {listed}.{hint}")
    return path, None


def multiplier_for(rules: list[MultiplierRule], path: tuple[str, ...], array: str) -> float:
    """The learning-rate multiplier of one array of the leaf at ``path``: the first rule that matches, else 1."""
    for rule in rules:
        if rule.matches(path, array):
            return rule.factor
    return 1.0


def check_globs_match(rules: list[MultiplierRule], paths: list[tuple[str, ...]]) -> None:
    """A pattern that matches no layer is a typo: say so, with the closest name."""
    names = sorted({p for path in paths for p in path})
    for rule in rules:
        if rule.glob is not None and not any(rule.matches(path, "") for path in paths):
            raise OptionError(f"NetTrain: learning_rate_multipliers: the pattern {rule.key!r} matches no layer name; the names: {', '.join(names)}.{closest(rule.glob.replace('*', ''), names)}")


@dataclass
class StoppingCriterion:
    """Stop when ``criterion`` has not improved by ``absolute_change`` (or ``relative_change``) for ``patience`` rounds."""

    criterion: str | Callable[[dict[str, Any]], bool] = "Loss"
    patience: int = 0
    absolute_change: float = 0.0
    relative_change: float = 0.0


MAXIMIZED = ("Accuracy", "Precision", "Recall", "F1Score", "AreaUnderROCCurve", "TopKAccuracy")


def parse_stopping_criterion(spec: Any) -> StoppingCriterion | None:
    if spec is None:
        return None
    if isinstance(spec, str) or callable(spec):
        return StoppingCriterion(spec)
    if isinstance(spec, Mapping):
        allowed = ("criterion", "patience", "absolute_change", "relative_change")
        for key in spec:
            if key not in allowed:
                raise OptionError(f'NetTrain: training_stopping_criterion has no key {key!r}.{closest(str(key), allowed)} Its keys: {", ".join(allowed)}.')
        where = "NetTrain: training_stopping_criterion"
        criterion = spec.get("criterion", "Loss")
        if not (isinstance(criterion, str) or callable(criterion)):
            raise OptionError(f'{where}: criterion={criterion!r} must be a measurement name such as "Loss" or a function of the round\'s measurements.')
        return StoppingCriterion(criterion, number(spec.get("patience", 0), where=where, option="patience", integer=True, minimum=0),
                                 number(spec.get("absolute_change", 0.0), where=where, option="absolute_change", minimum=0),
                                 number(spec.get("relative_change", 0.0), where=where, option="relative_change", minimum=0))
    raise OptionError(f'NetTrain: training_stopping_criterion={spec!r}: use a measurement name such as "Loss", a dict such as {{"criterion": "Accuracy", "patience": 3}}, or a function of the round\'s measurements returning True to stop.')


def precision_of(name: Any) -> str:
    """The one precision check (symnet.prepare), as net(x) and NetMeasurements make it."""
    return prepare.precision_of(name, where="NetTrain")


def bf16_supported() -> bool:
    return prepare.bf16_supported()
