"""NetInformation's SummaryGraphic (symnet/graphics.py)."""


from matplotlib.figure import Figure

from symnet import (
    LinearLayer,
    NetGraph,
    NetInformation,
    ThreadingLayer,
)


def test_summary_graphic_draws_every_layer():
    net = NetGraph({"a": LinearLayer(4), "b": "Tanh", "c": "Ramp", "sum": ThreadingLayer("Plus")}, [("a", "b", "sum"), ("a", "c", "sum")], input=3)
    figure = NetInformation(net, "SummaryGraphic")
    assert isinstance(figure, Figure)
    boxes = [t.get_text().splitlines() for t in figure.axes[0].texts if t.get_text()]
    assert [lines[1] for lines in boxes if len(lines) == 3] == ["LinearLayer", "ElementwiseLayer", "ElementwiseLayer", "ThreadingLayer"]
    assert [lines[0] for lines in boxes if len(lines) == 2] == ["Input", "Output"]
    arrows = [t for t in figure.axes[0].texts if not t.get_text()]
    assert len(arrows) == len(net.connections) == 6
