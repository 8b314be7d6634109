"""The example notebooks (examples/notebooks/) run in a Jupyter kernel at reduced size, and one
of them, rendered to HTML by nbconvert, is opened in headless Chromium: the page must show the
nets' layer tables and graph pictures with every edge, and a screenshot is kept.

The screenshot goes to tests/artifacts/first_net.png (the path is printed; ``pytest -s`` shows it).
"""

import re
import shutil
import struct
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from symnet import graphics
from symnet.containers.tree import nodes
from tests.panel_html import Tables

NOTEBOOKS = Path(__file__).resolve().parents[2] / "examples" / "notebooks"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# The training notebook's parameters for a run of seconds: 256 images, one round, narrow convolutions.
SMALL = {"SYMNET_NOTEBOOK_EXAMPLES": "256", "SYMNET_NOTEBOOK_ROUNDS": "1", "SYMNET_NOTEBOOK_WIDTH": "4"}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_graphviz = pytest.mark.skipif(graphics.layout_problem() is not None, reason=f"no layout engine: {graphics.layout_problem()} (scripts/ensure-data.sh installs it as root)")


def execute(name: str) -> nbformat.NotebookNode:
    """The notebook run top to bottom in a fresh python3 kernel (this interpreter's ipykernel)."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in SMALL.items():
            patch.setenv(key, value)  # the kernel inherits this process's environment
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    errors = [output for cell in notebook.cells for output in cell.get("outputs", []) if output.output_type == "error"]
    assert errors == []
    return notebook


def html_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    return [output.data["text/html"] for cell in notebook.cells for output in cell.get("outputs", []) if "text/html" in output.get("data", {})]


def connection_count(net) -> int:
    return sum(len(layer.connections) for _, layer in nodes(net) if hasattr(layer, "connections") and layer.kind in ("NetChain", "NetGraph"))


@pytest.fixture(scope="module")
def first_net():
    return execute("first_net.ipynb")


def first_net_nets(notebook: nbformat.NotebookNode) -> dict:
    """The nets the notebook displays, built again here from its own cells (they only build nets)."""
    namespace: dict = {}
    for cell in notebook.cells[:5]:
        if cell.cell_type == "code":
            exec(cell.source, namespace)  # noqa: S102 - the repository's own notebook
    return {"net": namespace["net"], "graph": namespace["graph"]}


def test_notebooks_are_saved_without_outputs():
    # outputs in the repository would go stale with every change of the display
    for path in NOTEBOOKS.glob("*.ipynb"):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), path.name


@needs_graphviz
def test_first_net_shows_panels_with_graphs(first_net):
    pages = html_outputs(first_net)
    nets = [page for page in pages if "symnet-net" in page]
    assert len(nets) == 2 and all(re.search(r'<div class="symnet-graph"[^>]*><svg', page) for page in nets)
    expected = first_net_nets(first_net)
    assert [Tables(page).edges for page in nets] == [connection_count(expected["net"]), connection_count(expected["graph"])]
    assert list(Tables(nets[1]).rows(1)) == ['"features"', '"tanh"', '"ramp"', '"sum"', '"head"', "0", "1"]
    assert any("symnet-coder" in page and "NetEncoder &quot;Class&quot;" in page for page in pages)
    evaluation = first_net.cells[6].outputs[0].data["text/plain"]
    assert re.match(r"\('(setosa|versicolor|virginica)',", evaluation)


@pytest.mark.fashion_mnist
def test_training_notebook_shows_live_progress_and_results():
    notebook = execute("train_fashion_mnist.ipynb")
    pages = html_outputs(notebook)
    progress = [page for page in pages if "symnet-progress" in page]
    # the panel was updated in place: one output, showing the finished run
    assert len(progress) == 1 and "NetTrain finished · round 1/1" in progress[0] and 'style="width:100.0%' in progress[0]
    results = [page for page in pages if "symnet-results" in page]
    assert len(results) == 1 and "NetTrainResults · 1 rounds · MaxTrainingRounds" in results[0]
    plots = re.findall(r'<figcaption class="symnet-section">([^<]+)</figcaption><div class="symnet-plot" style="width:360px"><svg', results[0])
    assert plots == ["Loss", "Accuracy", "ErrorRate", "ConfusionMatrix"]
    printed = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []) if output.output_type == "stream")
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", printed).group(1))
    assert 0.0 <= accuracy <= 1.0


def test_surgery_notebook_shows_each_new_net():
    notebook = execute("surgery.ipynb")
    nets = [page for page in html_outputs(notebook) if "symnet-net" in page]
    layer_names = [list(Tables(page).rows(1)) for page in nets]
    whole = ['"hidden1"', '"act1"', '"hidden2"', '"act2"', '"out"', '"probs"']
    assert layer_names == [whole, whole[:4], whole[:4], whole]
    replaced = Tables(nets[3]).rows(1)['"out"']
    assert replaced[0] == "LinearLayer(5) (uninitialized)" and replaced[1] == "vector of size 5"


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


@needs_graphviz
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (scripts/ensure-data.sh installs it as root: apt-get install chromium)")
def test_rendered_notebook_in_chromium_shows_layers_and_graph(first_net, tmp_path):
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(template_name="lab").from_notebook_node(first_net)
    ARTIFACTS.mkdir(exist_ok=True)
    page = ARTIFACTS / "first_net.html"
    page.write_text(body, encoding="utf-8")
    # No network here: Chromium's background services stay off, and the page's CDN scripts (MathJax,
    # require.js) fail fast; the panels need neither.
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    tables = Tables(dom)
    nets = first_net_nets(first_net)
    # the DOM the browser built: both layer tables and both pictures with every edge
    assert tables.edges == connection_count(nets["net"]) + connection_count(nets["graph"])
    names = [name for table in tables.tables for name in (row[0] for row in table[1:])]
    assert {'"hidden"', '"act"', '"out"', '"probs"', '"features"', '"sum"', '"head"'} <= set(names)
    assert len(re.findall(r'<div class="symnet-graph"[^>]*><svg', dom)) == 2
    screenshot = ARTIFACTS / "first_net.png"
    screenshot.unlink(missing_ok=True)
    subprocess.run([*browser, f"--screenshot={screenshot}", "--window-size=1280,2400", page.as_uri()], capture_output=True, timeout=120, check=True)
    assert png_size(screenshot) == (1280, 2400)
    print(f"screenshot of the rendered notebook: {screenshot}")
