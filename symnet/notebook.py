"""How a net shows itself in a notebook: ``net._repr_html_()``.

The panel has the net's ports (name, direction, shape, coder), a table of its layers (name,
kind with hyperparameters, output shape, parameter count; nested nets indented under their
own row), totals, and a picture of the graph laid out by Graphviz (symnet/graphics.py) with
every edge and port. Without Graphviz the tables stand alone with a note saying what to install.
"""

from __future__ import annotations

from typing import Any

from . import panels
from .containers.base import Container, key_text
from .containers.tree import leaves
from .display import coder_text, hyperparameters, parameter_count
from .errors import NetError
from .graphics import graph_svg
from .layers.base import Layer

#: rows of the layer table before the rest is summarized in one line (a ResNet has hundreds)
MAX_ROWS = 200


def _shape(layer: Layer, port: str) -> str:
    return layer.types[port].describe()  # type: ignore[index,no-any-return]


#: a coder's text is cut here in the ports table (an ImageNet decoder's labels run for pages); the
#: whole text is the cell's tooltip
CODER_WIDTH = 90


def _coder_cell(coder: Any) -> str:
    text = coder_text(coder)
    shown = text if len(text) <= CODER_WIDTH else text[: CODER_WIDTH - 1] + "…"
    return f'<span title="{panels.escape(text)}">{panels.escape(shown)}</span>'


def _ports_table(net: Layer) -> str:
    coders = net.coders()
    rows = []
    for direction, ports in (("in", net.input_ports()), ("out", net.output_ports())):
        for port in ports:
            cells = [panels.escape(port), direction, panels.escape(_shape(net, port)), _coder_cell(coders[port]) if port in coders else ""]
            rows.append([panels.td(markup) for markup in cells])
    return panels.table(["port", "", "shape", "coder"], rows, raw=True)


def _layer_rows(net: Container) -> tuple[list[list[str]], int]:
    """Table rows, depth first, nested members indented under their container's row; and
    how many rows were left out past MAX_ROWS."""
    # Marking every row of a net nobody initialized yet is noise (the totals say it once); in a
    # net that is partly initialized (a new layer put in by surgery) the marks show what is new.
    found = [layer for _, layer in leaves(net) if layer.array_names()]
    partly = any(layer.initialized for layer in found) and not all(layer.initialized for layer in found)
    rows: list[list[str]] = []
    skipped = 0
    stack: list[tuple[int, str, Layer]] = [(0, key, member) for key, member in reversed(list(net.layers.items()))]
    while stack:
        depth, key, layer = stack.pop()
        if len(rows) >= MAX_ROWS:
            skipped += 1
            continue
        outputs = layer.output_ports()
        shape = _shape(layer, outputs[0]) if outputs else ""
        count = parameter_count(layer)
        if isinstance(layer, Container):
            kind = f"{layer.kind} ({len(layer.layers)} layers)"
            stack.extend((depth + 1, member_key, member) for member_key, member in reversed(list(layer.layers.items())))
        else:
            kind = f"{layer.kind}({hyperparameters(layer)})"
        indent = "&nbsp;&nbsp;&nbsp;" * depth
        state = " <span style='color:#b26b00'>(uninitialized)</span>" if partly and not layer.initialized and (layer.array_names() or isinstance(layer, Container)) else ""
        rows.append([
            panels.td(indent + panels.escape(key_text(key))),
            panels.td(panels.escape(kind) + state),
            panels.td(panels.escape(shape)),
            panels.td("" if not count else f"{count:,}", numeric=True),
        ])
    return rows, skipped


def _arrays_table(layer: Layer) -> str:
    rows = [[name, layer.types[name].shape_str(), layer.types[name].size()] for name in layer.array_names()]  # type: ignore[index]
    return panels.table(["array", "shape", "elements"], rows)


def _totals(net: Layer) -> str:
    count = parameter_count(net)
    layer_count = len(leaves(net))
    size = "" if count is None else f"{count:,} parameters ({count * 4:,} bytes as float32)"
    state = "initialized" if net.initialized else "uninitialized (NetInitialize gives it arrays)"
    return panels.note(f"{layer_count} layer{'s' if layer_count != 1 else ''} · {size or 'parameter count unknown until shapes are'} · {state}")


def net_html(net: Layer) -> str:
    """The notebook panel of a net or layer (see the module docstring).

    >>> from symnet import LinearLayer, NetChain
    >>> page = net_html(NetChain({"hidden": LinearLayer(5), "act": "Ramp"}, input=3))
    >>> "symnet-net" in page and "&quot;hidden&quot;" in page and "LinearLayer(5)" in page
    True
    """
    count = parameter_count(net)
    title = net.kind if isinstance(net, Container) else f"{net.kind}({hyperparameters(net)})"
    subtitle = f" · {count:,} parameters" if count else ""
    parts = [panels.section("Ports", _ports_table(net))]
    if isinstance(net, Container):
        rows, skipped = _layer_rows(net)
        # a long table scrolls inside the panel instead of pushing the picture off the page
        layer_table = f'<div style="max-height:520px;overflow:auto">{panels.table(["layer", "kind", "output", "parameters"], rows, raw=True)}</div>'
        if skipped:
            layer_table += panels.note(f"… and {skipped} more layers (NetInformation(net, \"Layers\") lists them all).")
        parts.append(panels.section("Layers", layer_table))
    elif net.array_names():
        parts.append(panels.section("Arrays", _arrays_table(net)))
    parts.append(_totals(net))
    if not isinstance(net, Container):
        return panels.panel("net", title + subtitle, parts)
    svg, note = graph_svg(net, details=hyperparameters)
    graph = f'<div class="symnet-graph" style="max-height:900px;overflow:auto">{svg}</div>' if svg is not None else ""
    if note:
        graph += panels.note(note)
    tables = f'<div class="symnet-tables">{"".join(parts)}</div>'
    return panels.panel("net", title + subtitle, [f'<div class="symnet-row">{tables}<div>{graph}</div></div>'])


def coder_html(coder: Any) -> str:
    """The notebook panel of a NetEncoder or NetDecoder: its kind, parameters and the shape of
    the port it fits."""
    rows = [[name, repr(value) if not isinstance(value, tuple) or len(value) <= 12 else f"({len(value)} values: {', '.join(map(repr, value[:8]))}, …)"] for name, value, _ in coder._fields()]
    try:
        port = coder.port_type
        shape = port.describe()
    except NetError as error:  # a coder without enough parameters to know its shape still shows itself
        shape = f"not known yet ({error})"
    side = "produces" if coder.role == "NetEncoder" else "reads"
    parts = [panels.section("Parameters", panels.table(["parameter", "value"], rows)), panels.note(f"{side} {shape}")]
    return panels.panel("coder", f'{coder.role} "{coder.kind}"', parts)
