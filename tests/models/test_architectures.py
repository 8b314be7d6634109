"""Every architecture of the repository has exactly its published number of parameters
(torchvision's counts for the ImageNet nets), counted from inferred shapes without allocating."""

import numpy as np
import pytest

from symnet import NetInitialize
from symnet.models import NetModel
from symnet.models.weights import trainable_count

PUBLISHED = {
    "LeNet-5": 61_706,
    "PyTorch Notebook CNN": 49_770,
    "MLP": 669_706,
    "VGG-11": 132_863_336,
    "VGG-13": 133_047_848,
    "VGG-16": 138_357_544,
    "VGG-19": 143_667_240,
    "ResNet-18": 11_689_512,
    "ResNet-34": 21_797_672,
    "ResNet-50": 25_557_032,
    "ResNet-101": 44_549_160,
    "ResNet-152": 60_192_808,
    "MobileNetV2": 3_504_872,
    "EfficientNet-Lite0 Trained on ImageNet": 4_652_008,
    "MiniLM-L6 BERT Encoder": 22_713_216,  # all-MiniLM-L6-v2's published count (BertModel with its pooler)
    "GPT-2 Small Decoder": 124_439_808,  # GPT2LMHeadModel: the tied output matrix is the token table, counted once
    "PyTorch Notebook CNN Trained on Fashion-MNIST": 49_770,
    # symnet's own net, counted layer by layer: conv 1→32 @3×3, BN, conv 32→64 @3×3, BN, dense 64·7·7→64, BN, dense 64→10
    "2-Conv BatchNorm CNN Trained on Fashion-MNIST": (9 * 32 + 32) + 2 * 32 + (9 * 32 * 64 + 64) + 2 * 64 + (64 * 49 * 128 + 128) + 2 * 128 + (128 * 10 + 10),
}
#: counted in their own test files: the sentence net is the encoder above without its pooler (tests/models/test_bert.py)
COUNTED_ELSEWHERE = {"all-MiniLM-L6-v2 Trained on 1B Sentence Pairs"}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_parameter_count_is_the_published_one(name):
    net = NetModel(name, "UninitializedEvaluationNet")
    assert not net.initialized
    assert trainable_count(net) == PUBLISHED[name]


def test_every_model_is_counted():
    assert set(NetModel()) == set(PUBLISHED) | COUNTED_ELSEWHERE


@pytest.mark.parametrize("name", ["LeNet-5", "PyTorch Notebook CNN", "MLP"])
def test_small_nets_classify_28_by_28_images(name):
    net = NetInitialize(NetModel(name, "UninitializedEvaluationNet"))
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    assert len(net(images)) == 3
    assert net(images, None).shape == (3, 10)


@pytest.mark.parametrize("name", ["ResNet-18", "ResNet-50", "MobileNetV2"])
def test_imagenet_architectures_run_on_small_images(name):
    net = NetInitialize(NetModel(name, "UninitializedEvaluationNet", input=(3, 64, 64)))
    out = net(np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32), None)
    assert out.shape == (2, 1000)
    np.testing.assert_allclose(out.sum(-1), 1, atol=1e-5)
