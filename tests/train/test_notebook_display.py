"""NetTrain in a notebook: the live progress panel and the results' HTML (symnet/train/notebook.py)."""

import re
import sys
import types

import numpy as np
import pytest

from symnet import All, LinearLayer, NetChain, NetDecoder, NetTrain, SoftmaxLayer
from symnet.errors import OptionError
from symnet.train import notebook, report
from tests.panel_html import Tables


class FakeDisplay:
    """IPython.display.display's signature: records what would be shown and every update."""

    def __init__(self):
        self.shown = []

    def __call__(self, obj, display_id=False):
        assert display_id is True  # the panel must be updatable in place
        self.shown.append(obj.data)
        return self

    def update(self, obj):
        self.shown.append(obj.data)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype("float32")
    return x, (x.sum(1) > 0).astype(int)


def train(data, **options):
    x, y = data
    net = NetChain([LinearLayer(8), "Ramp", LinearLayer(2), SoftmaxLayer()], input=4, output=NetDecoder("Class", [0, 1]))
    return NetTrain(net, (x[:200], y[:200]), All, max_training_rounds=3, batch_size=32, validation_set=(x[200:], y[200:]), random_seeding=0, **options)


def test_progress_panel_is_updated_in_place_and_ends_with_the_run(data):
    display = FakeDisplay()
    results = train(data, training_progress_reporting=report.NotebookReporter(display))
    # one display, then an update after every round at least, and one at the end
    assert len(display.shown) >= 1 + 3 + 1
    assert "NetTrain · round 0/3" in display.shown[0]
    final = display.shown[-1]
    assert "NetTrain finished · round 3/3 · batch 7/7" in final and 'style="width:100.0%' in final
    assert final.count('class="symnet-round-loss"') == 3 and final.count('class="symnet-validation-loss"') == 3
    rows = Tables(final).rows(0)
    assert rows["round loss"] == [f"{results['RoundLossList'][-1]:.4g}"]
    assert rows["validation loss"] == [f"{results['ValidationLossList'][-1]:.4g}"]
    assert rows["validation Accuracy"] == [f"{results['ValidationMeasurements']['Accuracy']:.4g}"]


def test_automatic_reporting_is_the_notebook_panel_only_in_a_kernel(monkeypatch):
    from symnet import Automatic

    monkeypatch.setattr(report, "in_notebook", lambda: True)
    assert [type(r) for r in report.reporters(Automatic)] == [report.NotebookReporter]
    assert [type(r) for r in report.reporters("Panel")] == [report.NotebookReporter]
    assert [type(r) for r in report.reporters("Print")] == [report.PrintReporter]
    monkeypatch.setattr(report, "in_notebook", lambda: False)
    assert [type(r) for r in report.reporters("Panel")] == [report.PanelReporter]
    with pytest.raises(OptionError, match=r"training_progress_reporting='Loud' is not a form of reporting; use \"Panel\", \"Print\""):
        report.reporters("Loud")


def test_a_kernel_is_told_from_a_terminal_ipython(monkeypatch):
    shell = types.SimpleNamespace()
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert not notebook.in_notebook()  # a terminal IPython: no kernel behind it
    shell.kernel = object()
    assert notebook.in_notebook()
    fake.get_ipython = lambda: None
    assert not notebook.in_notebook()  # plain Python that imported IPython


def test_loss_curve_bins_long_runs_and_switches_to_log_scale():
    losses = list(np.linspace(10.0, 0.1, 1000))
    svg = notebook.loss_curve_svg(losses, [5.0, 0.2], [], batches_per_round=500)
    points = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    assert len(points) == notebook.CURVE_POINTS
    assert "(log scale)" in svg and svg.count('class="symnet-round-loss"') == 2
    # the first bin is the mean of the first 1000/240 losses: its height is that mean's place on the log axis
    top, bottom = 8, 110 - 18
    first = float(points[0].split(",")[1])
    expected_mean = np.mean(losses[:4])
    level = (np.log10(expected_mean) - np.log10(0.1)) / (np.log10(10.0) - np.log10(0.1))
    assert first == pytest.approx(bottom - (bottom - top) * level, abs=0.1)
    assert "(log scale)" not in notebook.loss_curve_svg([1.0, 0.8, 0.9], [0.9], [], batches_per_round=3)
    assert notebook.loss_curve_svg([float("nan")], [], [], batches_per_round=1) == ""


def test_results_show_a_summary_and_every_final_plot_inline(data):
    results = train(data, training_progress_reporting=None)
    page = results._repr_html_()
    assert "NetTrainResults · 3 rounds · MaxTrainingRounds" in page
    rows = Tables(page).rows(0)
    assert rows["TotalBatches"] == [str(results["TotalBatches"])] and rows["TotalRounds"] == ["3"]
    assert rows["final validation loss"] == [f"{results['ValidationLossList'][-1]:.4g}"]
    plots = re.findall(r'<figcaption class="symnet-section">([^<]+)</figcaption><div class="symnet-plot" style="width:360px"><svg', page)
    assert plots == list(results["FinalPlots"]) == ["Loss", "Accuracy", "ErrorRate", "ConfusionMatrix"]
    assert "training rounds" in page  # axis labels stay text in the SVG
    assert "<summary class=\"symnet-section\">AutomaticChoices</summary>" in page
