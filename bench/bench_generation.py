"""Step-by-step generation: NetStateObject (one recurrent step per new element) against
re-reading the whole prefix with net(prefix) for every new element, on a character LSTM.
Prints the time per generated sequence of each and their ratio, measured in the same run.

    python bench/bench_generation.py [--length 40] [--size 128]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from symnet import EmbeddingLayer, LinearLayer, LongShortTermMemoryLayer, NetChain, NetInitialize, NetMapOperator, NetStateObject, SoftmaxLayer, TensorType


def main(argv: list[str] | None = None) -> dict[str, float]:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--length", type=int, default=40, help="elements generated per sequence")
    options.add_argument("--size", type=int, default=128, help="the LSTM's state size")
    options.add_argument("--repeats", type=int, default=5)
    arguments = options.parse_args(argv)
    vocabulary = 40
    net = NetInitialize(NetChain([EmbeddingLayer(24), LongShortTermMemoryLayer(arguments.size), NetMapOperator(LinearLayer(vocabulary)), SoftmaxLayer()],
                                 input=TensorType(("Varying",), "Integer", vocabulary)), random_seeding=0)

    def reread() -> list[int]:
        sequence = [1]
        for _ in range(arguments.length):
            sequence.append(int(np.asarray(net(np.array(sequence)))[-1].argmax()))
        return sequence

    def stepwise() -> list[int]:
        stateful = NetStateObject(net)
        sequence = [1]
        for _ in range(arguments.length):
            sequence.append(int(stateful([sequence[-1]])[-1].argmax()))
        return sequence

    assert reread() == stepwise()  # the same greedy sequence both ways
    timings = {}
    for name, generate in (("re-reading the prefix", reread), ("NetStateObject", stepwise)):
        generate()
        start = time.perf_counter()
        for _ in range(arguments.repeats):
            generate()
        timings[name] = (time.perf_counter() - start) / arguments.repeats
        print(f"{name:>22}: {timings[name] * 1000:8.1f} ms per sequence of {arguments.length}")
    ratio = timings["re-reading the prefix"] / timings["NetStateObject"]
    print(f"NetStateObject is {ratio:.2f}x faster than re-reading the prefix (LSTM size {arguments.size})")
    return {"ratio": ratio, **timings}


if __name__ == "__main__":
    main()
