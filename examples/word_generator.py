"""A character-level language model that invents words: an LSTM trained by NetTrain to predict
each next letter of French (or another language's) words from Debian's word lists, then sampled
letter by letter with a temperature.

Characters → EmbeddingLayer → LongShortTermMemoryLayer → NetMapOperator(LinearLayer) → SoftmaxLayer,
trained on "^word" to predict "word$": the probabilities of the next character at every step.
Each word is a sequence of its own length: NetTrain pads the batches and its loss averages each
word's real positions only. New words are generated one character at a time by a
NetStateObject (the LSTM's states carried between steps) and the Class decoder's "RandomSample"
with a temperature. Run (--quick for CI):

    python examples/word_generator.py [--language French] [--temperature 0.8] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from wordlists import LISTS, alphabet, indices, load_words  # noqa: E402

from symnet import All, EmbeddingLayer, LinearLayer, LongShortTermMemoryLayer, NetChain, NetDecoder, NetMapOperator, NetStateObject, NetTrain, SoftmaxLayer, TensorType  # noqa: E402

START, END = "^", "$"
LENGTH = 14  # "^" + up to 12 letters + "$"


def language_model(characters: int, size: int) -> NetChain:
    return NetChain(
        [EmbeddingLayer(24), LongShortTermMemoryLayer(size), NetMapOperator(LinearLayer(characters)), SoftmaxLayer()],
        input=TensorType(("Varying",), "Integer", characters),
    )


def sample(net: NetChain, characters: list[str], temperature: float, rng: np.random.Generator, count: int) -> list[str]:
    """``count`` words, each drawn one character at a time from p ** (1 / temperature).

    A NetStateObject carries the LSTM's states from one character to the next (NetUnfold's
    one-step net inside), so each character costs one step instead of re-reading the word so
    far; the Class decoder's "RandomSample" draws the character, seeded from ``rng``."""
    decoder = NetDecoder("Class", characters)
    stateful = NetStateObject(net)
    never = [0, characters.index(START)]  # never padding or a start inside a word
    words = []
    for _ in range(count):
        stateful.reset()
        text, step = "", START
        while len(text) < LENGTH - 2:
            probabilities = stateful(indices([step], characters)[0])[-1]
            probabilities[never] = 0.0
            choice = decoder.decode(probabilities[None], ("RandomSample", {"Temperature": temperature, "RandomSeeding": int(rng.integers(2**31))}))[0]
            if choice == END:
                break
            text += choice
            step = choice
        words.append(text)
    return words


def main(argv: list[str] | None = None) -> dict[str, object]:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--language", default="French", choices=list(LISTS))
    options.add_argument("--temperature", type=float, default=0.8)
    options.add_argument("--quick", action="store_true", help="a small run for CI")
    options.add_argument("--seed", type=int, default=0)
    arguments = options.parse_args(argv)
    count, rounds, size = (1500, 4, 48) if arguments.quick else (20000, 10, 192)

    rng = np.random.default_rng(arguments.seed)
    found = load_words([arguments.language], max_length=LENGTH - 2)[arguments.language]
    words = [found[i] for i in rng.choice(len(found), size=min(count, len(found)), replace=False)]
    characters = alphabet([START + w + END for w in words])
    inputs, targets = indices([START + w for w in words], characters), indices([w + END for w in words], characters)  # predict each next character

    untrained = language_model(len(characters), size)
    start = time.perf_counter()
    results = NetTrain(untrained, (inputs, targets), All, max_training_rounds=rounds, batch_size=64,
                       random_seeding=arguments.seed, training_progress_reporting=None)
    seconds = time.perf_counter() - start
    net = results["TrainedNet"]
    loss = float(results["RoundLossList"][-1])
    invented = sample(net, characters, arguments.temperature, rng, 12)
    new = [w for w in invented if w and w not in set(found)]
    print(f"{len(words)} {arguments.language} words, {len(characters) - 1} characters; trained {rounds} rounds in {seconds:.0f} s, final loss {loss:.3f}")
    print(f"sampled at temperature {arguments.temperature}: {', '.join(invented)}")
    print(f"{len(new)} of {len(invented)} are not in the word list")
    return {"loss": loss, "words": invented}


if __name__ == "__main__":
    main()
