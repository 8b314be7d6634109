"""EfficientNet-Lite0 inference: symnet's NetModel against a hand-written torch module.

A batch of 16 224×224 images (already encoded: the encoder's resizing is not timed), the
trained weights of ``NetModel("EfficientNet-Lite0 Trained on ImageNet")`` in both. The symnet
net is evaluated with ``net(x, None)`` (raw probabilities); the module, written in plain
PyTorch in tests/models/torch_reference.py, under ``torch.inference_mode()``, in the default
(NCHW) memory layout and, as a second reference, in channels-last. Variants run interleaved
(A B A B …) and medians are reported, since absolute rates swing on shared machines.

    .venv/bin/python bench/bench_models.py [--repeats N]     # needs: pip install 'symnet[models]'
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' plain PyTorch modules

from symnet import NetModel  # noqa: E402
from symnet.models.efficientnet import NAME, WEIGHTS  # noqa: E402
from symnet.models.weights import package_file, read_state_dict  # noqa: E402
from tests.models.torch_reference import EfficientNetLite0  # noqa: E402


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()

    net = NetModel(NAME)
    module = EfficientNetLite0().eval()
    module.load_state_dict(read_state_dict(package_file(WEIGHTS.package, WEIGHTS.file, WEIGHTS.distribution)), strict=True)
    channels_last = EfficientNetLite0().eval().to(memory_format=torch.channels_last)
    channels_last.load_state_dict(module.state_dict())

    data = np.random.default_rng(0).standard_normal((args.batch, 3, 224, 224)).astype(np.float32)
    tensor = torch.from_numpy(data)
    tensor_last = tensor.contiguous(memory_format=torch.channels_last)

    def run_torch() -> None:
        with torch.inference_mode():
            module(tensor)

    def run_torch_last() -> None:
        with torch.inference_mode():
            channels_last(tensor_last)

    def run_symnet() -> None:
        net(data, None, batch_size=args.batch)

    def run_symnet_default() -> None:
        net(data, None)  # the automatic batch size splits the 16 images into pieces of 6

    # correctness first: the two compute the same function
    with torch.inference_mode():
        expected = module(tensor).numpy()
    np.testing.assert_allclose(net(data, None), expected, atol=2e-5)

    runs = {"torch": run_torch, "torch channels-last": run_torch_last, "symnet": run_symnet, "symnet, automatic batch": run_symnet_default}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # warm-up
        run()
    for _ in range(args.repeats):
        for name, run in runs.items():
            times[name].append(timed(run))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in medians.items():
        print(f"{name:>20}: {seconds * 1000:7.1f} ms per batch of {args.batch} ({args.batch / seconds:.1f} images/s)")
    print(f"time ratio symnet/torch = {medians['symnet'] / medians['torch']:.3f} (goal <= 1.03); symnet/torch channels-last = {medians['symnet'] / medians['torch channels-last']:.3f}; "
          f"automatic batch size/torch = {medians['symnet, automatic batch'] / medians['torch']:.3f}")


if __name__ == "__main__":
    main()
