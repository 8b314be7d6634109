"""NetModel's names, families, properties and mistakes."""

import pytest

from symnet import NetError
from symnet.models import NetModel
from symnet.models.weights import trainable_count


def test_lists_models():
    names = NetModel()
    assert names[0] == "EfficientNet-Lite0 Trained on ImageNet"
    assert {"ResNet-50", "VGG-16", "MobileNetV2", "LeNet-5", "MLP", "PyTorch Notebook CNN"} <= set(names)


def test_family_parameters_and_name_form_select_the_same_variant():
    by_parameter = NetModel("ResNet", "UninitializedEvaluationNet", depth=50)
    by_name = NetModel("ResNet-50", "UninitializedEvaluationNet")
    assert trainable_count(by_parameter) == trainable_count(by_name) == 25_557_032
    assert trainable_count(NetModel("ResNet", "UninitializedEvaluationNet")) == 25_557_032  # the default variant
    assert NetModel("ResNet-50", "UninitializedEvaluationNet", depth=50) is not None  # consistent parameters are fine


def test_family_properties():
    assert NetModel("ResNet", "Variants") == ["ResNet-18", "ResNet-34", "ResNet-50", "ResNet-101", "ResNet-152"]
    assert NetModel("VGG-16", "Variants") == ["VGG-11", "VGG-13", "VGG-16", "VGG-19"]
    assert NetModel("ResNet", "ParametersInformation") == {"depth": {"Description": "the number of layers with weights", "AllowedValues": (18, 34, 50, 101, 152), "Default": 50}}
    assert NetModel("ResNet", "ParameterNames") == ["depth"]
    assert NetModel("VGG", "ParametersAllowedValues") == {"depth": [11, 13, 16, 19]}
    assert NetModel("VGG", "DefaultVariant") == "VGG-16"


def test_model_properties():
    assert NetModel("ResNet-18", "TaskType") == "Classification"
    assert NetModel("ResNet-18", "TrainingSetData") is None
    assert NetModel("MobileNetV2", "ByteCount") == 4 * (3_504_872 + 34_112)
    assert NetModel("ResNet-18", "SourceMetadata")["Source"].startswith("Deep Residual Learning")
    assert NetModel("LeNet-5", "InputDomains") == ["Image"]


def test_architecture_without_weights():
    assert not NetModel("LeNet-5").initialized
    with pytest.raises(NetError, match=r'"ResNet-18" is an architecture without shipped weights\. Fix: NetModel\("ResNet-18", "UninitializedEvaluationNet"\)'):
        NetModel("ResNet-18", "EvaluationNet")


def test_typo_suggests_the_closest_name():
    with pytest.raises(NetError, match=r'there is no model "ResNet-5O"\. Did you mean "ResNet-50"\?'):
        NetModel("ResNet-5O")
    with pytest.raises(NetError, match=r'no model "resnet"\. Did you mean "ResNet"\?'):
        NetModel("resnet")
    with pytest.raises(NetError, match=r'unknown property "Variant"; the properties are .* Did you mean "Variants"\?'):
        NetModel("ResNet", "Variant")
    with pytest.raises(NetError, match=r"the model name must be a string"):
        NetModel(50)


def test_bad_parameters_list_the_allowed_ones():
    with pytest.raises(NetError, match=r'depth=49 is not a variant of "ResNet"; the allowed values are 18, 34, 50, 101, 152\.'):
        NetModel("ResNet", depth=49)
    with pytest.raises(NetError, match=r'the family "ResNet" has no parameter dept=; its parameters: depth\. Did you mean "depth"\?'):
        NetModel("ResNet", dept=50)
    with pytest.raises(NetError, match=r'"ResNet-50" has depth=50, which conflicts with depth=18\. Fix: NetModel\("ResNet", depth=18\)'):
        NetModel("ResNet-50", depth=18)
    with pytest.raises(NetError, match=r'"MobileNetV2" is not a family and takes no parameters, but received width='):
        NetModel("MobileNetV2", width=2)
    with pytest.raises(NetError, match=r'"LeNet-5" is not a parameterized family, so it has no "Variants"'):
        NetModel("LeNet-5", "Variants")
