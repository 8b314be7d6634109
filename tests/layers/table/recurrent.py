"""Entries of symnet/layers/recurrent.py: the recurrent layers against nn.RNN, nn.GRU and nn.LSTM
with the layer's arrays copied in (packing by lengths is tested in test_recurrent.py)."""

import torch
from torch import nn

from symnet import BasicRecurrentLayer, GatedRecurrentLayer, LongShortTermMemoryLayer

from .entry import Entry

# Gates in the order torch stacks them: (r, z, n) for the GRU, (i, f, g, o) for the LSTM.
TORCH = {
    "BasicRecurrentLayer": (nn.RNN, ("",)),
    "GatedRecurrentLayer": (nn.GRU, ("ResetGate", "InputGate", "MemoryGate")),
    "LongShortTermMemoryLayer": (nn.LSTM, ("InputGate", "ForgetGate", "MemoryGate", "OutputGate")),
}


def _twin(kind: str, a: dict[str, torch.Tensor]) -> nn.Module:
    module_class, gates = TORCH[kind]
    n, k = a[f"{gates[0]}InputWeights"].shape
    module = module_class(k, n, batch_first=True).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.cat([a[f"{g}InputWeights"] for g in gates]))
        module.weight_hh_l0.copy_(torch.cat([a[f"{g}StateWeights"] for g in gates]))
        module.bias_ih_l0.copy_(torch.cat([a[f"{g}Biases"] for g in gates]))
        module.bias_hh_l0.zero_()  # Wolfram's recurrences have one bias per gate
    return module


def _reference(kind: str, states: bool):
    def reference(a, x, *initial):
        module = _twin(kind, a)
        hidden = None
        if initial:
            hidden = initial[0].unsqueeze(0) if len(initial) == 1 else tuple(h.unsqueeze(0) for h in initial)
        output, final = module(x, hidden)
        if not states:
            return output
        final = (final,) if isinstance(final, torch.Tensor) else final
        return (output, *(h[0] for h in final))

    return reference


ENTRIES = [
    Entry(lambda: BasicRecurrentLayer(3, input=(4, 2)), _reference("BasicRecurrentLayer", False)),
    Entry(lambda: GatedRecurrentLayer(3, input=(4, 2)), _reference("GatedRecurrentLayer", False)),
    Entry(lambda: LongShortTermMemoryLayer(3, input=(4, 2)), _reference("LongShortTermMemoryLayer", False)),
    Entry(lambda: BasicRecurrentLayer(3, initial_states=True, final_states=True, input=(4, 2)), _reference("BasicRecurrentLayer", True), "states"),
    Entry(lambda: GatedRecurrentLayer(3, initial_states=True, final_states=True, input=(4, 2)), _reference("GatedRecurrentLayer", True), "states"),
    Entry(lambda: LongShortTermMemoryLayer(3, initial_states=True, final_states=True, input=(4, 2)), _reference("LongShortTermMemoryLayer", True), "states"),
]
