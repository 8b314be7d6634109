"""Which language is a word? A recurrent classifier trained by NetTrain on Debian's word lists
(English, French, German, Italian, Spanish), reporting its accuracy on held-out words.

Characters → EmbeddingLayer → GatedRecurrentLayer → SequenceLastLayer → LinearLayer → SoftmaxLayer.
Each word is a sequence of character indices of its own length: NetTrain pads each batch, the
GRU reads each word's own letters only (SequenceLastLayer takes its last real step), and batches
hold words of similar length (bucketing, said in results["AutomaticChoices"]). Run (about
2 minutes on 2 cores; --quick for CI):

    python examples/language_classifier.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wordlists import alphabet, indices, load_words  # noqa: E402

from symnet import All, EmbeddingLayer, GatedRecurrentLayer, LinearLayer, NetChain, NetDecoder, NetTrain, SequenceLastLayer, SoftmaxLayer, TensorType  # noqa: E402


def classifier(characters: int, languages: list[str], size: int) -> NetChain:
    return NetChain(
        [EmbeddingLayer(16), GatedRecurrentLayer(size), SequenceLastLayer(), LinearLayer(len(languages)), SoftmaxLayer()],
        input=TensorType(("Varying",), "Integer", characters),
        output=NetDecoder("Class", languages),
    )


def split(words: dict[str, list[str]], per_language: int, test_fraction: float, seed: int) -> tuple[list[str], list[str], list[str], list[str]]:
    rng = np.random.default_rng(seed)
    train_x, train_y, test_x, test_y = [], [], [], []
    for language, found in words.items():
        chosen = rng.choice(len(found), size=min(per_language, len(found)), replace=False)
        cut = int(len(chosen) * (1 - test_fraction))
        train_x += [found[i] for i in chosen[:cut]]
        train_y += [language] * cut
        test_x += [found[i] for i in chosen[cut:]]
        test_y += [language] * (len(chosen) - cut)
    return train_x, train_y, test_x, test_y


def main(argv: list[str] | None = None) -> float:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="a small run for CI")
    options.add_argument("--seed", type=int, default=0)
    arguments = options.parse_args(argv)
    per_language, rounds, size = (600, 6, 32) if arguments.quick else (6000, 12, 96)

    words = load_words()
    languages = list(words)
    train_x, train_y, test_x, test_y = split(words, per_language, 0.2, arguments.seed)
    characters = alphabet([*train_x, *test_x])
    x, xt = indices(train_x, characters), indices(test_x, characters)
    start = time.perf_counter()
    results = NetTrain(
        classifier(len(characters), languages, size), (x, train_y), All,
        max_training_rounds=rounds, batch_size=64, random_seeding=arguments.seed, training_progress_reporting=None,
    )
    seconds = time.perf_counter() - start
    net = results["TrainedNet"]
    predicted = net(xt)
    accuracy = float(np.mean(np.asarray(predicted) == np.asarray(test_y)))
    print(f"{len(train_x)} training words, {len(test_x)} test words in {len(languages)} languages, {len(characters) - 1} characters")
    print(f"trained {rounds} rounds in {seconds:.0f} s; test accuracy {accuracy:.3f} (chance {1 / len(languages):.2f})")
    print(f"batches: {results['AutomaticChoices'].get('bucketing')}")
    examples = [w for w in ("house", "maison", "haus", "casa", "fenêtre", "straße", "perché", "niño") if set(w) <= set(characters)]
    for word, language in zip(examples, net(indices(examples, characters))):
        print(f"  {word!r}: {language}")
    return accuracy


if __name__ == "__main__":
    main()
