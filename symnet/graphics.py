"""A picture of a net's layer graph (NetInformation's "SummaryGraphic")."""

from __future__ import annotations

from typing import Any

from .containers.base import Container, key_text
from .containers.chain import NetChain
from .containers.tree import is_container
from .layers.base import Layer


def _levels(net: Container) -> dict[str | None, int]:
    """Each member's depth from the inputs (the longest path), for a layered drawing."""
    depth: dict[str | None, int] = {}
    for key in net.order():
        sources = [s[0] for s, d in net.connections if d[0] == key]  # type: ignore[attr-defined]
        depth[key] = 1 + max((depth[s] for s in sources if s is not None), default=0)
    return depth


def summary_graphic(net: Layer) -> Any:
    """A matplotlib Figure: input ports, one box per member (key, kind, output shape) and output
    ports, laid out left to right by depth, with an arrow per connection.

    >>> figure = summary_graphic(NetChain([LinearLayer(3), "Tanh"], input=2))
    >>> type(figure).__name__, [t.get_text().splitlines()[1] for t in figure.axes[0].texts if len(t.get_text().splitlines()) == 3]
    ('Figure', ['LinearLayer', 'ElementwiseLayer'])
    """
    from matplotlib.figure import Figure

    if not is_container(net):
        net = NetChain([net])
    depth = _levels(net)
    last = max(depth.values(), default=0) + 1
    nodes: dict[tuple[str | None, str | None], tuple[float, float]] = {}
    columns: dict[int, list[tuple[str | None, str | None]]] = {}
    for port in net.input_ports():
        columns.setdefault(0, []).append((None, f"in:{port}"))
    for key in net.order():
        columns.setdefault(depth[key], []).append((key, None))
    for port in net.output_ports():
        columns.setdefault(last, []).append((None, f"out:{port}"))
    for column, items in columns.items():
        for row, item in enumerate(items):
            nodes[item] = (column * 2.6, -(row - (len(items) - 1) / 2) * 1.2)

    width = max(4.0, 1.6 * (last + 1))
    height = max(2.0, 1.0 * max(len(items) for items in columns.values()) + 1)
    figure = Figure(figsize=(width, height))
    axes = figure.add_subplot()
    axes.set_axis_off()

    def label(item: tuple[str | None, str | None]) -> str:
        key, port = item
        if key is None:
            name = port.split(":", 1)[1]  # type: ignore[union-attr]
            return f"{name}\n{net.types[name].shape_str()}"  # type: ignore[index]
        member = net.layers[key]
        outputs = member.output_ports()
        shape = member.types[outputs[0]].shape_str() if outputs else ""  # type: ignore[index]
        return f"{key_text(key)}\n{member.kind}\n{shape}"

    for item, (x, y) in nodes.items():
        style = {"boxstyle": "round,pad=0.3", "facecolor": "#e8eef7" if item[0] is not None else "#f4f4f4", "edgecolor": "#4a6fa5"}
        axes.text(x, y, label(item), ha="center", va="center", fontsize=7, bbox=style)

    def position(endpoint: tuple[str | None, str], incoming: bool) -> tuple[float, float]:
        key, port = endpoint
        if key is None:
            return nodes[(None, f"{'in' if incoming else 'out'}:{port}")]
        return nodes[(key, None)]

    for source, destination in net.connections:  # type: ignore[attr-defined]
        start = position(source, True)
        end = position(destination, False)
        axes.annotate("", xy=(end[0] - 0.9, end[1]), xytext=(start[0] + 0.9, start[1]), arrowprops={"arrowstyle": "->", "color": "#555555"})
    xs = [x for x, _ in nodes.values()]
    ys = [y for _, y in nodes.values()]
    axes.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
    axes.set_ylim(min(ys) - 0.9, max(ys) + 0.9)
    axes.set_title(f"{net.kind}: {len(net.layers)} layers", fontsize=9)
    return figure
