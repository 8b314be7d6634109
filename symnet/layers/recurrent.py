"""Recurrent layers: BasicRecurrentLayer, GatedRecurrentLayer, LongShortTermMemoryLayer.

Each takes a sequence of vectors ``(n, k)`` and returns the sequence of its states ``(n, size)``,
with Wolfram's recurrences and array names. They run on torch's fused kernels (the ones
``nn.RNN``, ``nn.GRU`` and ``nn.LSTM`` call); in a batch of sequences of different lengths the
engine passes each example's length and the layer packs the batch
(``nn.utils.rnn.pack_padded_sequence``), so padded steps take no part: every example gets
exactly what it gets alone, values and gradients.

State ports. Wolfram exposes a layer's "State" (and "CellState") both as an input (the initial
state, zeros by default) and as an output (the final state). symnet ports have one direction
each, so ``initial_states=True`` adds the inputs "InitialState" (and "InitialCellState") and
``final_states=True`` adds the outputs "State" (and "CellState"); each is a vector of ``size``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from ..errors import NetError, ShapeError
from ..types import TensorType
from .base import Layer
from .initializers import orthogonal


def _dims_or_none(t: TensorType, rank: int) -> tuple[Any, ...]:
    return t.dims if t.dims is not None else (None,) * rank


@dataclass(frozen=True, eq=False, repr=False)
class _RecurrentLayer(Layer):
    """What the three recurrent layers share: ports, shape inference and the packed run."""

    size: int | None = None
    initial_states: bool = False
    final_states: bool = False

    uses_lengths: ClassVar[bool] = True
    #: gate prefixes in the order torch stacks them in its fused weights
    torch_gates: ClassVar[tuple[str, ...]] = ("",)
    #: the same gates in the order Wolfram lists the arrays
    wolfram_gates: ClassVar[tuple[str, ...]] = ("",)
    #: the states the recurrence carries
    states: ClassVar[tuple[str, ...]] = ("State",)
    #: torch's fused kernel for the recurrence (the one nn.RNN/GRU/LSTM call)
    kernel: ClassVar[Any] = None

    def validate(self) -> None:
        if self.size is not None and (isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1):
            raise NetError(f"{self.kind}: the size (the length of each state vector) must be a positive int, not {self.size!r}.")
        for name in ("initial_states", "final_states"):
            if not isinstance(getattr(self, name), bool):
                raise NetError(f"{self.kind}: {name} must be True or False, not {getattr(self, name)!r}.")

    # -- ports and arrays ---------------------------------------------------------------------
    def input_ports(self) -> tuple[str, ...]:
        return ("Input", *(f"Initial{s}" for s in self.states)) if self.initial_states else ("Input",)

    def output_ports(self) -> tuple[str, ...]:
        return ("Output", *self.states) if self.final_states else ("Output",)

    def array_names(self) -> tuple[str, ...]:
        return tuple(f"{gate}{part}" for gate in self.wolfram_gates for part in ("InputWeights", "StateWeights", "Biases"))

    def state_ports(self) -> tuple[str, ...]:
        inputs = self.input_ports()[1:]
        outputs = self.output_ports()[1:]
        return (*inputs, *outputs)

    # -- inference ----------------------------------------------------------------------------
    def infer(self, types: dict[str, TensorType]) -> dict[str, TensorType]:
        x, y = types["Input"], types["Output"]
        for port, t in (("Input", x), ("Output", y)):
            if t.rank is not None and t.rank != 2:
                raise ShapeError(
                    f'port "{port}" needs a sequence of vectors (a matrix of shape (length, size)) but has shape {t} of rank {t.rank}; '
                    "a sequence of numbers needs a size-1 vector per step (ReshapeLayer((\"Varying\", 1))), and a longer tensor a FlattenLayer per step."
                )
        length_x, k = _dims_or_none(x, 2)
        length_y, n = _dims_or_none(y, 2)
        n = self._unify_size("Output", self.size, n)
        for gate in self.wolfram_gates:
            w_in, w_state, biases = (types[f"{gate}{part}"] for part in ("InputWeights", "StateWeights", "Biases"))
            for name, t, rank in ((f"{gate}InputWeights", w_in, 2), (f"{gate}StateWeights", w_state, 2), (f"{gate}Biases", biases, 1)):
                if t.rank is not None and t.rank != rank:
                    raise ShapeError(f'the array "{name}" must have rank {rank} but has shape {t.shape_str()}.')
            if w_in.dims is not None:
                n = self._unify_size(f"{gate}InputWeights", n, w_in.dims[0])
                k = self._unify_input(f"{gate}InputWeights", k, w_in.dims[1])
            if w_state.dims is not None:
                n = self._unify_size(f"{gate}StateWeights", n, w_state.dims[0])
                n = self._unify_size(f"{gate}StateWeights", n, w_state.dims[1])
            if biases.dims is not None:
                n = self._unify_size(f"{gate}Biases", n, biases.dims[0])
        for port in self.state_ports():
            t = types[port]
            if t.rank is not None and t.rank != 1:
                raise ShapeError(f'port "{port}" holds a state vector of size {n if n is not None else "size"} but has shape {t} of rank {t.rank}.')
            if t.dims is not None:
                n = self._unify_size(port, n, t.dims[0])
        try:
            length = TensorType((length_x,)).unify(TensorType((length_y,))).dims[0]  # type: ignore[index]
        except ShapeError:
            raise ShapeError(f'port "Output" has {length_y} steps but the input has {length_x}; a recurrent layer returns one state per input step.') from None
        if x.dims is not None or k is not None:
            # (an input of unknown rank stays unknown, so a wrong rank from a connection reaches
            # the check above, whose message says what a recurrent layer takes)
            types["Input"] = x.with_dims((length, k))
        types["Output"] = TensorType((length, n))
        for gate in self.wolfram_gates:
            types[f"{gate}InputWeights"] = TensorType((n, k))
            types[f"{gate}StateWeights"] = TensorType((n, n))
            types[f"{gate}Biases"] = TensorType((n,))
        for port in self.state_ports():
            types[port] = TensorType((n,))
        return types

    def _unify_size(self, where: str, a: Any, b: Any) -> Any:
        if a is not None and b is not None and a != b:
            what = f'port "{where}"' if where in (*self.input_ports(), *self.output_ports()) else f'the array "{where}"'
            raise ShapeError(f"{what} has size {b} where the state size is {a}; every state vector, output vector and weight row has the layer's size.")
        return a if a is not None else b

    def _unify_input(self, where: str, a: Any, b: Any) -> Any:
        if a is not None and b is not None and a != b:
            raise ShapeError(f'port "Input" has vectors of size {a} but the array "{where}" has {b} columns (one per input element).')
        return a if a is not None else b

    def init_array(self, name: str, shape: tuple[int, ...], method: str, generator: torch.Generator) -> torch.Tensor | None:
        # Orthogonal state weights keep the state's norm through many steps at the start.
        if name.endswith("StateWeights"):
            return orthogonal(shape, generator)
        return None

    # -- evaluation ---------------------------------------------------------------------------
    def fused_weights(self, arrays: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """The four tensors of torch's fused kernels: w_ih, w_hh, b_ih, b_hh."""
        w_ih = torch.cat([arrays[f"{g}InputWeights"] for g in self.torch_gates])
        w_hh = torch.cat([arrays[f"{g}StateWeights"] for g in self.torch_gates])
        b_ih = torch.cat([arrays[f"{g}Biases"] for g in self.torch_gates])
        # Wolfram's recurrences have one bias per gate; torch's second one stays zero (for the
        # GRU that also puts the memory gate's reset outside the bias, as Wolfram has it).
        return [w_ih, w_hh, b_ih, torch.zeros_like(b_ih)]

    def run_kernel(self, x: torch.Tensor, batch_sizes: torch.Tensor | None, hidden: list[torch.Tensor], weights: list[torch.Tensor], training: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """One fused torch recurrence over padded (``batch_sizes`` None) or packed data; the final states."""
        # torch's kernels take the single state of an RNN/GRU bare and an LSTM's (h, c) as a list
        state = hidden[0] if len(self.states) == 1 else hidden
        if batch_sizes is None:
            output, *final = self.kernel(x, state, weights, True, 1, 0.0, training, False, True)
        else:
            output, *final = self.kernel(x, batch_sizes, state, weights, True, 1, 0.0, training, False)
        return output, final

    def forward(self, arrays: Mapping[str, torch.Tensor], x: torch.Tensor, *initial: torch.Tensor, training: bool = False, lengths: torch.Tensor | None = None) -> Any:  # type: ignore[override]
        if x.dim() != 3:
            raise NetError(f'{self.kind}: port "Input" needs a batch of sequences of vectors (3 axes with the batch) but received shape {tuple(x.shape)}.')
        batch, steps, _ = x.shape
        n = arrays[f"{self.torch_gates[0]}StateWeights"].shape[1]
        hidden = [s.unsqueeze(0) for s in initial] if initial else [x.new_zeros(1, batch, n) for _ in self.states]
        weights = self.fused_weights(arrays)
        if steps == 0:
            output, final = x.new_zeros(batch, 0, n), hidden
        elif lengths is None or bool((lengths == steps).all()):
            output, final = self.run_kernel(x, None, hidden, weights, training)
        else:
            lengths = lengths.to("cpu", torch.int64)
            # pack_padded_sequence refuses empty sequences; run them one step and keep their
            # initial state, since their outputs are cut back to nothing anyway.
            packed = pack_padded_sequence(x, lengths.clamp(min=1), batch_first=True, enforce_sorted=False)
            order = packed.sorted_indices.to(x.device)
            sorted_hidden = [h.index_select(1, order) for h in hidden]
            data, final = self.run_kernel(packed.data, packed.batch_sizes, sorted_hidden, weights, training)
            back = packed.unsorted_indices.to(x.device)
            final = [h.index_select(1, back) for h in final]
            output, _ = pad_packed_sequence(PackedSequence(data, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices), batch_first=True, total_length=steps)
            empty = (lengths == 0).to(x.device)
            if bool(empty.any()):
                final = [torch.where(empty.view(1, -1, 1), h0, h) for h0, h in zip(hidden, final)]
                output = output * (~empty).view(-1, 1, 1)
        if not self.final_states:
            return output
        return (output, *(h[0] for h in final))


@dataclass(frozen=True, eq=False, repr=False)
class BasicRecurrentLayer(_RecurrentLayer):
    """A recurrent layer of ``size`` states: ``s[t] = Tanh(InputWeights . x[t] + StateWeights . s[t-1] + Biases)``.

    Input: a sequence of vectors ``("Varying", k)``; output: the sequence of states
    ``("Varying", size)``. Arrays: "InputWeights" ``(size, k)``, "StateWeights" ``(size, size)``,
    "Biases" ``(size,)``. See the module docstring for ``initial_states`` and ``final_states``.

    >>> layer = NetInitialize(BasicRecurrentLayer(3, input=("Varying", 2)))
    >>> layer([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]]).shape
    (4, 3)
    >>> layer.types["StateWeights"]
    TensorType((3, 3))
    """

    kernel = staticmethod(torch._VF.rnn_tanh)


@dataclass(frozen=True, eq=False, repr=False)
class GatedRecurrentLayer(_RecurrentLayer):
    """A gated recurrent unit (GRU) of ``size`` states, in Wolfram's form (Chung et al. 2014):

        i = LogisticSigmoid(InputGateInputWeights . x[t] + InputGateStateWeights . s[t-1] + InputGateBiases)
        r = LogisticSigmoid(ResetGateInputWeights . x[t] + ResetGateStateWeights . s[t-1] + ResetGateBiases)
        m = Tanh(MemoryGateInputWeights . x[t] + r * (MemoryGateStateWeights . s[t-1]) + MemoryGateBiases)
        s[t] = (1 - i) * m + i * s[t-1]

    Input ``("Varying", k)``, output ``("Varying", size)``; nine arrays, the gates' "…InputWeights"
    ``(size, k)``, "…StateWeights" ``(size, size)`` and "…Biases" ``(size,)``.

    >>> layer = NetInitialize(GatedRecurrentLayer(4, input=("Varying", 2)))
    >>> layer([[1.0, 0.0], [0.0, 1.0]]).shape
    (2, 4)
    """

    torch_gates: ClassVar[tuple[str, ...]] = ("ResetGate", "InputGate", "MemoryGate")
    wolfram_gates: ClassVar[tuple[str, ...]] = ("InputGate", "ResetGate", "MemoryGate")

    kernel = staticmethod(torch._VF.gru)


@dataclass(frozen=True, eq=False, repr=False)
class LongShortTermMemoryLayer(_RecurrentLayer):
    """A long short-term memory (LSTM) layer of ``size`` states, in Wolfram's form:

        i = LogisticSigmoid(InputGateInputWeights . x[t] + InputGateStateWeights . s[t-1] + InputGateBiases)
        o, f likewise with the OutputGate… and ForgetGate… arrays
        m = Tanh(MemoryGateInputWeights . x[t] + MemoryGateStateWeights . s[t-1] + MemoryGateBiases)
        c[t] = f * c[t-1] + i * m;   s[t] = o * Tanh(c[t])

    Input ``("Varying", k)``, output the states ``("Varying", size)``; twelve arrays. It carries
    two states, "State" and "CellState" (ports "InitialState", "InitialCellState", "State",
    "CellState" with ``initial_states`` / ``final_states``).

    >>> layer = NetInitialize(LongShortTermMemoryLayer(3, input=("Varying", 2), final_states=True))
    >>> layer.output_ports()
    ('Output', 'State', 'CellState')
    >>> out = layer([[1.0, 0.0], [0.0, 1.0]])
    >>> bool((out["State"] == out["Output"][-1]).all())
    True
    """

    torch_gates: ClassVar[tuple[str, ...]] = ("InputGate", "ForgetGate", "MemoryGate", "OutputGate")
    wolfram_gates: ClassVar[tuple[str, ...]] = ("InputGate", "OutputGate", "ForgetGate", "MemoryGate")
    states: ClassVar[tuple[str, ...]] = ("State", "CellState")

    kernel = staticmethod(torch._VF.lstm)
