"""Hypothesis fuzz of .symnet files: damaged or crafted files load or give a NetError, cheaply.

Valid files of several nets are damaged (byte flips, truncations, inserted bytes) or rebuilt with
crafted metadata (a spec edited to huge shapes, wrong types, deep nesting, other format
versions; with a correct checksum, so the damage reaches the spec reader). The outcome must be a
NetError or a loaded net, never another exception; loading must stay fast and small: a crafted
huge shape must not allocate (tracemalloc bounds the peak).
"""

from __future__ import annotations

import functools
import json
import struct
import tracemalloc

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symnet import (
    BatchNormalizationLayer,
    ConvolutionLayer,
    EmbeddingLayer,
    FlattenLayer,
    Layer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetEncoder,
    NetError,
    NetGraph,
    NetInitialize,
    PoolingLayer,
    SoftmaxLayer,
    ThreadingLayer,
)
from symnet.io import native

MEMORY_LIMIT = 64 * 2**20  # far above what loading these small files needs, far below a huge allocation


@functools.cache
def valid_files() -> tuple[bytes, ...]:
    nets = [
        NetInitialize(NetChain({"linear": LinearLayer(3), "act": "Tanh", "out": [LinearLayer(2), SoftmaxLayer()]}, input=2, output=NetDecoder("Class", ["a", "b"]))),
        NetInitialize(NetChain([ConvolutionLayer(2, 3), BatchNormalizationLayer(), "Ramp", PoolingLayer(2), FlattenLayer(), LinearLayer(3)], input=NetEncoder("Image", (8, 8), color_space="Grayscale"))),
        NetInitialize(NetGraph({"a": LinearLayer(4), "b": "Tanh", "c": LinearLayer(4), "sum": ThreadingLayer("Plus")}, [("a", "b"), ("b", "sum"), ("a", "c"), ("c", "sum")], input=3)),
        NetInitialize(NetChain([EmbeddingLayer(4, 10), FlattenLayer(), LinearLayer(2)], input=5)),
        NetChain([LinearLayer(3), "Ramp", LinearLayer(2)], input=4),  # not initialized: no tensors
    ]
    return tuple(native.net_bytes(net) for net in nets)


def split(content: bytes) -> tuple[dict, bytes]:
    (length,) = struct.unpack("<Q", content[:8])
    return json.loads(content[8 : 8 + length]), content[8 + length :]


def rebuilt(content: bytes, change) -> bytes:
    """The file with its metadata changed by ``change(metadata)`` and a correct checksum."""
    from safetensors.torch import load, save

    header, _ = split(content)
    metadata = dict(header["__metadata__"])
    change(metadata)
    tensors = load(content)
    if isinstance(metadata.get("spec"), str) and isinstance(metadata.get("format_version"), str):
        metadata["checksum"] = native._checksum(metadata["format_version"], metadata["spec"], tensors)
    return save(tensors, metadata=metadata)


def _edit_spec(spec_text: str, mutation: str, value) -> str:
    spec = json.loads(spec_text)

    def walk(node):
        if isinstance(node, dict):
            for key in list(node):
                if mutation == "size" and key in ("size", "channels", "vocabulary") and isinstance(node[key], int):
                    node[key] = value
                elif mutation == "dims" and key == "$type" and isinstance(node[key], list):
                    node[key] = [value for _ in node[key]]
                elif mutation == "kind" and key == "$layer":
                    node[key] = value
                elif mutation == "field" and key == "fields" and isinstance(node[key], dict) and node[key]:
                    node[key][sorted(node[key])[0]] = value
                walk(node[key])
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    if mutation == "nest":
        for _ in range(value):
            spec = {"$layer": "NetChain", "fields": {"layers": [spec]}}
    return json.dumps(spec)


huge = st.sampled_from([2**31, 2**40, 10**12, 2**62, -1, 0])
odd = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True), st.text(max_size=4), st.lists(st.integers(-2, 5), max_size=3), huge)


@st.composite
def damaged_files(draw) -> tuple[str, bytes]:
    content = bytearray(draw(st.sampled_from(valid_files())))
    how = draw(st.sampled_from(["flip", "truncate", "insert", "size", "dims", "kind", "field", "nest", "version", "metadata"]))
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            content[draw(st.integers(0, len(content) - 1))] ^= draw(st.integers(1, 255))
        return how, bytes(content)
    if how == "truncate":
        return how, bytes(content[: draw(st.integers(0, len(content) - 1))])
    if how == "insert":
        position = draw(st.integers(0, len(content)))
        return how, bytes(content[:position]) + draw(st.binary(min_size=1, max_size=16)) + bytes(content[position:])
    if how == "version":
        version = draw(st.sampled_from(["²", "0", "2", "99999999999999999999", "", "1.0", "-1", " 1", "١"]))
        return how, rebuilt(bytes(content), lambda m: m.update(format_version=version))
    if how == "metadata":
        key = draw(st.sampled_from(["format", "spec", "checksum"]))
        value = draw(st.sampled_from(["", "{}", "[]", "null", "symnet", "{\"$layer\": 1}", "x" * 100]))
        return how, rebuilt(bytes(content), lambda m: m.update({key: value}))
    value = {"size": huge, "dims": huge, "kind": st.sampled_from(["NetChain", "Layer", "os.system", "", "LinearLayer"]), "field": odd, "nest": st.integers(1, 400)}[how]
    drawn = draw(value)
    return how, rebuilt(bytes(content), lambda m: m.update(spec=_edit_spec(m["spec"], how, drawn)))


def load_outcome(content: bytes) -> str:
    """"loaded" or "NetError"; any other exception propagates (and fails the test)."""
    try:
        net = native.net_from_bytes(content, "fuzz")
    except NetError:
        return "NetError"
    assert isinstance(net, Layer)
    return "loaded"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(damaged_files())
def test_damaged_and_crafted_files_load_or_raise_net_error_cheaply(case):
    _, content = case
    tracemalloc.start()
    try:
        load_outcome(content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT, f"loading a {len(content)}-byte file allocated {peak} bytes"


def test_a_crafted_huge_shape_is_refused_without_allocating():
    content = rebuilt(valid_files()[0], lambda m: m.update(spec=_edit_spec(m["spec"], "size", 2**40)))
    tracemalloc.start()
    try:
        assert load_outcome(content) == "NetError"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT


def test_a_crafted_huge_uninitialized_net_loads_without_allocating():
    content = rebuilt(valid_files()[-1], lambda m: m.update(spec=_edit_spec(m["spec"], "size", 2**40)))
    tracemalloc.start()
    try:
        load_outcome(content)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_LIMIT


def test_every_valid_file_loads():
    for content in valid_files():
        assert load_outcome(content) == "loaded"
    assert np.isfinite(len(valid_files()))
