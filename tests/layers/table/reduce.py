"""Entries of symnet/layers/reduce.py: Aggregation, Total, Summation, Dot."""

import torch

from symnet import AggregationLayer, DotLayer, SummationLayer, TotalLayer

from .entry import Entry

AGGREGATIONS = {"Max": torch.amax, "Min": torch.amin, "Mean": torch.mean, "Total": torch.sum}

DOT = [
    ([3, 3], "bi,bi->b"),
    ([(2, 3), 3], "bij,bj->bi"),
    ([3, (3, 4)], "bi,bij->bj"),
    ([(2, 3), (3, 4)], "bij,bjk->bik"),
    ([(2, 2, 3), (3, 4)], "bhij,bjk->bhik"),
]


def _aggregation(function: str, levels: object, dims: tuple[int, ...]) -> Entry:
    reference = AGGREGATIONS[function]
    arguments = (function,) if levels is None else (function, levels)
    return Entry(lambda: AggregationLayer(*arguments, input=(3, 4, 5)), lambda a, x: reference(x, dim=dims), f"{function}-{str(levels).replace(' ', '')}")


def _dot(shapes: list, equation: str) -> Entry:
    return Entry(lambda: DotLayer(input=shapes), lambda a, x, y: torch.einsum(equation, x, y), equation.replace(",", "-").replace("->", "-"))


ENTRIES = [
    *(_aggregation(function, None, (2, 3)) for function in AGGREGATIONS),
    *(_aggregation(function, (0, -1), (1, 3)) for function in AGGREGATIONS),
    Entry(lambda: TotalLayer(input=(2, 3)), lambda a, x: x.sum(dim=(1, 2)), "all"),
    Entry(lambda: TotalLayer(0, input=(2, 3, 4)), lambda a, x: x.sum(dim=1), "level0"),
    Entry(lambda: TotalLayer((0, 2), input=(2, 3, 4)), lambda a, x: x.sum(dim=(1, 3)), "levels0-2"),
    Entry(lambda: SummationLayer(input=(2, 3)), lambda a, x: x.sum(dim=(1, 2)), "matrix"),
    Entry(lambda: SummationLayer(input=4), lambda a, x: x.sum(dim=1), "vector"),
    *(_dot(shapes, equation) for shapes, equation in DOT),
]
