"""A picture of a net's layer graph, laid out by Graphviz.

``net_dot`` describes the net as a Graphviz digraph: one node per port of the net, one per
layer (with a cell per port when a layer has several inputs or outputs, so each edge reaches
its own port), a cluster per nested NetChain/NetGraph with its own ports inside, and one edge
per connection, labelled with the shape that flows along it. ``dot`` lays it out: the notebook
display embeds its SVG (``graph_svg``) and NetInformation's "SummaryGraphic" draws the same
layout with matplotlib (``summary_graphic``), so both pictures agree.

Layout needs the ``graphviz`` Python package and Graphviz's ``dot`` program
(``pip install 'symnet[notebook]'`` and ``apt-get install graphviz``); ``layout_problem()``
says which is missing.

>>> from symnet import LinearLayer, NetChain
>>> source = net_dot(NetChain([LinearLayer(3), "Tanh"], input=2))
>>> source.count("->")  # Input -> 0 -> 1 -> Output
3
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .containers.base import Container, key_text
from .containers.chain import NetChain
from .containers.graph import NetGraph
from .containers.tree import members
from .errors import NetError
from .layers.base import Layer
from .types import TensorType, dim_str

#: a drawing with more nodes than this is not laid out (dot's time grows quickly past it);
#: nested containers are drawn as single boxes before that limit is reached
MAX_NODES = 240

Path = tuple[str, ...]
Endpoint = tuple[str | None, str]


def layout_problem() -> str | None:
    """Why no graph can be laid out here, or None when Graphviz is ready."""
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return "the graphviz Python package is not installed (pip install 'symnet[notebook]')"
    if shutil.which("dot") is None:
        return "Graphviz's dot program is not installed (apt-get install graphviz, brew install graphviz or conda install graphviz)"
    return None


def dims_text(port_type: TensorType) -> str:
    """A shape for an edge label: '784', '1×28×28', 'n×64', 'scalar'."""
    if port_type.dims is None:
        return "…"
    if port_type.dims == ():
        return "scalar" if port_type.bound is None else f"class < {port_type.bound}"
    return "×".join(dim_str(d) for d in port_type.dims)


def _expands(layer: Layer) -> bool:
    # Operators (NetMapOperator …) apply their member net in a loop: a box of their own reads
    # better than a cluster whose wires would suggest a single pass.
    return isinstance(layer, NetChain | NetGraph)


@dataclass
class Drawing:
    """The digraph of a net and what the figure needs to draw it again from dot's layout."""

    graph: Any
    labels: dict[str, str] = field(default_factory=dict)  # node id -> text lines for the figure
    kinds: dict[str, str] = field(default_factory=dict)  # node id -> "port" | "inner-port" | "layer"
    edges: int = 0
    collapsed: int = 0  # nested containers drawn as one box for lack of room


def _expanded_paths(net: Container, limit: int) -> set[Path] | None:
    """The containers to draw open, breadth first while the node count stays under ``limit``;
    None when even the top level alone is over it."""
    count = len(net.layers) + len(net.input_ports()) + len(net.output_ports())
    if count > limit:
        return None
    opened: set[Path] = {()}
    queue: list[tuple[Path, Container]] = [((), net)]
    while queue:
        path, container = queue.pop(0)
        for key, member in container.layers.items():
            if not _expands(member):
                continue
            extra = len(members(member)) + len(member.input_ports()) + len(member.output_ports())
            if count + extra <= limit:
                count += extra
                opened.add((*path, key))
                queue.append(((*path, key), member))  # type: ignore[arg-type]
    return opened


def _html_label(title: str, kind: str, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> str:
    """A layer's box: its key and kind, with a row of port cells for several inputs or outputs."""
    escape = html.escape

    def port_row(ports: tuple[str, ...], side: str) -> str:
        cells = "".join(f'<td port="{side}_{index}" border="1" sides="{"b" if side == "in" else "t"}" color="#9fb3cc"><font point-size="8">{escape(p)}</font></td>' for index, p in enumerate(ports))
        return f"<tr>{cells}</tr>"

    span = max(len(inputs), len(outputs), 1)
    rows = []
    if len(inputs) > 1:
        rows.append(port_row(inputs, "in"))
    rows.append(f'<tr><td colspan="{span}"><b>{escape(title)}</b> <font color="#3d4b5c">{escape(kind)}</font></td></tr>')
    if len(outputs) > 1:
        rows.append(port_row(outputs, "out"))
    return '<<table border="0" cellborder="0" cellspacing="0" cellpadding="3">' + "".join(rows) + "</table>>"


def _kind_text(layer: Layer, details: Callable[[Layer], str] | None) -> str:
    if isinstance(layer, Container):
        return f"{layer.kind} · {len(layer.layers)} layers"
    text = details(layer) if details is not None else ""
    if len(text) > 28:  # a long expression or a tuple of sizes would stretch the box
        text = text[:26] + "…"
    return f"{layer.kind}({text})" if details is not None else layer.kind


def drawing(net: Layer, max_nodes: int = MAX_NODES, details: Callable[[Layer], str] | None = None) -> Drawing | None:
    """The net as a graphviz.Digraph (None when it has more than ``max_nodes`` top-level nodes);
    ``details(layer)`` gives the hyperparameters shown after a layer's kind."""
    import graphviz

    if not isinstance(net, Container):
        net = NetChain([net])
    opened = _expanded_paths(net, max_nodes)
    if opened is None:
        return None
    font = "Helvetica,Arial,sans-serif"
    graph = graphviz.Digraph(
        graph_attr={"rankdir": "TB", "nodesep": "0.25", "ranksep": "0.32", "bgcolor": "transparent", "fontname": font, "fontsize": "10"},
        node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "#e8eef7", "color": "#4a6fa5", "fontname": font, "fontsize": "10", "margin": "0.06,0.03"},
        edge_attr={"color": "#55657a", "fontname": font, "fontsize": "8", "fontcolor": "#55657a", "arrowsize": "0.6"},
    )
    result = Drawing(graph)
    ids: dict[tuple[Path, str | None], str] = {}

    def node_id(path: Path, port: str | None) -> str:
        return ids.setdefault((path, port), f"n{len(ids)}")

    def draw(target: Any, path: Path, container: Container) -> None:
        inner = bool(path)
        for port in (*container.input_ports(), *container.output_ports()):
            shape = dims_text(container.types[port])  # type: ignore[index]
            name = node_id(path, port)
            if inner:
                # A nested container's port: a small tag inside its cluster where its wires meet.
                target.node(name, f"{port}\n{shape}", shape="plaintext", style="", fontsize="8", fontcolor="#3d4b5c", height="0.2", margin="0.02")
                result.kinds[name] = "inner-port"
            else:
                target.node(name, f"{port}\n{shape}", shape="box", style="rounded,filled", fillcolor="#f4f4f4", color="#7c8a99")
                result.kinds[name] = "port"
            result.labels[name] = f"{port}\n{container.types[port].shape_str()}"  # type: ignore[index]
        for key, member in container.layers.items():
            where = (*path, key)
            if where in opened and isinstance(member, Container):
                with target.subgraph(name=f"cluster_{node_id(where, None)}") as cluster:
                    cluster.attr(style="rounded,dashed", color="#9fb3cc")
                    draw(cluster, where, member)
                    # The nested net's name as a node beside its first input port: as a cluster
                    # label it sat where the incoming wire runs and the two overlapped.
                    title = node_id(where, "\0title")
                    cluster.node(title, f"{key_text(key)}  {member.kind}", shape="plaintext", style="", fontsize="9", fontcolor="#3d4b5c", height="0.2", margin="0.02", **{"class": "cluster-title"})
                    result.labels[title] = f"{key_text(key)}  {member.kind}"
                    result.kinds[title] = "inner-port"
                    if member.input_ports():
                        with cluster.subgraph() as row:
                            row.attr(rank="same")
                            row.node(title)
                            row.node(node_id(where, member.input_ports()[0]))
                continue
            name = node_id(where, None)
            kind = _kind_text(member, details)
            result.collapsed += isinstance(member, Container)
            outputs = member.output_ports()
            target.node(name, _html_label(key_text(key), kind, member.input_ports(), outputs), tooltip="/".join(key_text(k) for k in where))
            shape = member.types[outputs[0]].shape_str() if outputs else ""  # type: ignore[index]
            result.labels[name] = f"{key_text(key)}\n{kind}\n{shape}"
            result.kinds[name] = "layer"
        for source, destination in container.connections:  # type: ignore[attr-defined]
            target.edge(endpoint(path, container, source, "out"), endpoint(path, container, destination, "in"), label=" " + dims_text(port_type(container, source)))
            result.edges += 1

    def endpoint(path: Path, container: Container, end: Endpoint, side: str) -> str:
        key, port = end
        if key is None:
            return node_id(path, port)
        where = (*path, key)
        member = container.layers[key]
        if where in opened and isinstance(member, Container):
            return node_id(where, port)
        ports = member.input_ports() if side == "in" else member.output_ports()
        name = node_id(where, None)
        return f"{name}:{side}_{ports.index(port)}" if len(ports) > 1 else name

    draw(graph, (), net)
    return result


def port_type(container: Container, end: Endpoint) -> TensorType:
    key, port = end
    return (container.types if key is None else container.layers[key].types)[port]  # type: ignore[index]


def net_dot(net: Layer, max_nodes: int = MAX_NODES, details: Callable[[Layer], str] | None = None) -> str:
    """The Graphviz (DOT) source of the net's picture; a NetError when it is too large to draw."""
    found = drawing(net, max_nodes, details)
    if found is None:
        raise NetError(f"{net.kind}: its top level has more than {max_nodes} layers and ports, too many to lay out as one picture; NetTake a part of it and draw that.")
    return str(found.graph.source)


def graph_svg(net: Layer, max_nodes: int = MAX_NODES, details: Callable[[Layer], str] | None = None) -> tuple[str | None, str]:
    """``(svg, note)``: the net's picture as inline SVG markup (None when it cannot be made)
    and a sentence for the reader (why there is no picture, or which boxes are folded)."""
    problem = layout_problem()
    if problem is not None:
        return None, f"No graph picture: {problem}."
    found = drawing(net, max_nodes, details)
    if found is None:
        return None, f"No graph picture: the net has more than {max_nodes} layers and ports at its top level."
    svg = found.graph.pipe(format="svg", encoding="utf-8")
    # Keep only the <svg> element: the XML prologue and DOCTYPE are not allowed inside HTML.
    svg = svg[svg.index("<svg") :]
    note = f"{found.collapsed} nested net{'s' if found.collapsed != 1 else ''} drawn as one box to keep the picture readable." if found.collapsed else ""
    return svg, note


# -- the same layout as a matplotlib figure ----------------------------------------------------
def _points(text: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (pair.split(",")[:2] for pair in text.split())]


def summary_graphic(net: Layer, details: Callable[[Layer], str] | None = None) -> Any:
    """A matplotlib Figure of the net drawn where Graphviz placed it: a box per port (name,
    shape) and layer (key, kind, output shape), a dashed frame per nested net and a curved
    arrow per connection. Needs Graphviz (see ``layout_problem``)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, PathPatch
    from matplotlib.path import Path as CurvePath

    problem = layout_problem()
    if problem is not None:
        raise NetError(f"NetInformation(net, \"SummaryGraphic\"): the picture is laid out by Graphviz, but {problem}.")
    found = drawing(net, details=details)
    if found is None:
        raise NetError(f"NetInformation(net, \"SummaryGraphic\"): the net has more than {MAX_NODES} layers and ports at its top level, too many for one picture; NetTake a part of it.")
    layout = json.loads(found.graph.pipe(format="json0", encoding="utf-8"))
    left, bottom, right, top = (float(v) for v in layout["bb"].split(","))
    scale = min(1.0, 14 * 72 / max(right - left, 1.0))  # at most 14 inches wide
    figure = Figure(figsize=(max(right - left, 72) * scale / 72, max(top - bottom, 72) * scale / 72))
    axes = figure.add_axes((0, 0, 1, 1))
    axes.set_axis_off()
    axes.set_xlim(left, right)
    axes.set_ylim(bottom, top)
    objects = layout.get("objects", [])
    for item in objects:
        if "bb" in item and str(item.get("name", "")).startswith("cluster"):
            x0, y0, x1, y1 = (float(v) for v in item["bb"].split(","))
            axes.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=4", fill=False, linestyle="--", edgecolor="#9fb3cc"))
            axes.text(x0 + 4, y1 - 4, item.get("label", ""), ha="left", va="top", fontsize=7 * scale, color="#3d4b5c")
    by_gvid = {}
    for item in objects:
        if "pos" not in item:
            continue
        by_gvid[item["_gvid"]] = item["name"]
        x, y = _points(item["pos"])[0]
        width, height = float(item["width"]) * 72, float(item["height"]) * 72
        kind = found.kinds.get(item["name"], "layer")
        if kind != "inner-port":
            colour = "#e8eef7" if kind == "layer" else "#f4f4f4"
            axes.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0,rounding_size=4", facecolor=colour, edgecolor="#4a6fa5"))
        axes.text(x, y, found.labels[item["name"]], ha="center", va="center", fontsize=(6.5 if kind == "layer" else 6) * scale, linespacing=1.1)
    for edge in layout.get("edges", []):
        spline = edge["pos"].split()
        tip = None
        if spline[0].startswith("e,"):
            tip = _points(spline.pop(0)[2:])[0]
        if spline[0].startswith("s,"):
            spline.pop(0)
        points = _points(" ".join(spline))
        codes = [CurvePath.MOVETO] + [CurvePath.CURVE4] * (len(points) - 1)
        axes.add_patch(PathPatch(CurvePath(points, codes), fill=False, edgecolor="#55657a", linewidth=0.8))
        if tip is not None:
            axes.add_patch(FancyArrowPatch(points[-1], tip, arrowstyle="-|>", mutation_scale=8 * scale, color="#55657a", linewidth=0.8))
        if "lp" in edge:
            x, y = _points(edge["lp"])[0]
            axes.text(x, y, edge.get("label", "").strip(), ha="center", va="center", fontsize=5.5 * scale, color="#55657a")
    return figure
