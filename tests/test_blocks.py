"""Transformer blocks and positional embeddings (symnet/blocks.py) against torch's
nn.TransformerEncoderLayer / nn.TransformerDecoderLayer with the same weights."""

import numpy as np
import pytest
import torch
from torch import nn

from symnet import NetError, NetExtract, NetInitialize, NetReplacePart
from symnet.blocks import positional_embedding, transformer_decoder_block, transformer_encoder_block


def attention_arrays(prefix, attention: nn.MultiheadAttention):
    """nn.MultiheadAttention's weights as the block's arrays: in_proj is [query; key; value]."""
    size = attention.embed_dim
    weights, biases = attention.in_proj_weight.detach(), attention.in_proj_bias.detach()
    arrays = {}
    for i, part in enumerate(("query", "key", "value")):
        arrays[(f"{prefix}{part}", "Net", "Weights")] = weights[i * size : (i + 1) * size].numpy()
        arrays[(f"{prefix}{part}", "Net", "Biases")] = biases[i * size : (i + 1) * size].numpy()
    arrays[(f"{prefix}output", "Net", "Weights")] = attention.out_proj.weight.detach().numpy()
    arrays[(f"{prefix}output", "Net", "Biases")] = attention.out_proj.bias.detach().numpy()
    return arrays


def common_arrays(torch_block, norms):
    arrays = {
        ("feed_forward", "Net", 0, "Weights"): torch_block.linear1.weight.detach().numpy(),
        ("feed_forward", "Net", 0, "Biases"): torch_block.linear1.bias.detach().numpy(),
        ("feed_forward", "Net", 2, "Weights"): torch_block.linear2.weight.detach().numpy(),
        ("feed_forward", "Net", 2, "Biases"): torch_block.linear2.bias.detach().numpy(),
    }
    for name, norm in norms.items():
        arrays[(f"{name}_norm", "Scaling")] = norm.weight.detach().numpy()
        arrays[(f"{name}_norm", "Biases")] = norm.bias.detach().numpy()
    return arrays


def randomized(module):
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn_like(parameter) * 0.5)
    return module.eval()


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["Ramp", "GELU"])
def test_encoder_block_matches_torch(norm_first, activation):
    reference = randomized(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="relu" if activation == "Ramp" else "gelu", batch_first=True, norm_first=norm_first))
    block = NetInitialize(transformer_encoder_block(8, 2, 16, activation=activation, norm_first=norm_first))
    arrays = {**attention_arrays("self_", reference.self_attn), **common_arrays(reference, {"attention": reference.norm1, "feed_forward": reference.norm2})}
    block = NetReplacePart(block, arrays)
    x = torch.randn(3, 5, 8)
    expected = reference(x).detach().numpy()
    np.testing.assert_allclose(block(x.numpy()), expected, atol=1e-5)


def test_causal_encoder_block_matches_torch_with_a_causal_mask():
    reference = randomized(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True))
    block = NetReplacePart(NetInitialize(transformer_encoder_block(8, 2, 16, mask="Causal")),
                           {**attention_arrays("self_", reference.self_attn), **common_arrays(reference, {"attention": reference.norm1, "feed_forward": reference.norm2})})
    x = torch.randn(2, 6, 8)
    expected = reference(x, src_mask=nn.Transformer.generate_square_subsequent_mask(6), is_causal=True).detach().numpy()
    np.testing.assert_allclose(block(x.numpy()), expected, atol=1e-5)
    # a position does not see later ones: changing the last element leaves the others alone
    changed = x.clone()
    changed[:, -1] += 1
    np.testing.assert_allclose(block(changed.numpy())[:, :-1], block(x.numpy())[:, :-1], atol=1e-6)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_block_matches_torch(norm_first):
    reference = randomized(nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=norm_first))
    block = NetInitialize(transformer_decoder_block(8, 2, 16, norm_first=norm_first))
    arrays = {
        **attention_arrays("self_", reference.self_attn),
        **attention_arrays("cross_", reference.multihead_attn),
        **common_arrays(reference, {"attention": reference.norm1, "cross_attention": reference.norm2, "feed_forward": reference.norm3}),
    }
    block = NetReplacePart(block, arrays)
    x, memory = torch.randn(2, 4, 8), torch.randn(2, 7, 8)
    expected = reference(x, memory, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4), tgt_is_causal=True).detach().numpy()
    np.testing.assert_allclose(block({"Input": x.numpy(), "Memory": memory.numpy()}), expected, atol=1e-5)


def test_positional_embedding():
    net = NetInitialize(positional_embedding(4, 10))
    table = NetExtract(net, ["embedding", "Weights"])
    x = np.random.default_rng(0).random((3, 4)).astype(np.float32)
    np.testing.assert_allclose(net(x), x + table[:3], atol=1e-6)
    with pytest.raises(NetError, match=r'NetGraph/"positions" \(SequenceIndicesLayer\): port "Input" has sequences of length 11, beyond the 10 positions of max_length=10'):
        net(np.zeros((11, 4), np.float32))


def test_block_errors():
    with pytest.raises(NetError, match=r"transformer_encoder_block: the size 10 must be a multiple of the number of heads 3"):
        transformer_encoder_block(10, 3)
    with pytest.raises(NetError, match=r"transformer_decoder_block: heads must be a positive int, not 0\."):
        transformer_decoder_block(8, 0)
