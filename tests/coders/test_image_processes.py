"""Many image files are decoded in worker processes: same pixels, same errors."""

import numpy as np
import pytest
from PIL import Image

from symnet import InputError, NetEncoder
from symnet.coders import image as image_module


def _write(folder, count):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = folder / f"{i}.png"
        Image.fromarray(rng.integers(0, 256, (6, 5), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_process_decode_equals_sequential(tmp_path):
    paths = _write(tmp_path, image_module.PROCESS_THRESHOLD + 3)
    encoder = NetEncoder("Image", size=(5, 6), color_space="Grayscale")
    tensor, batched = encoder.encode(paths)
    assert batched and tuple(tensor.shape) == (len(paths), 1, 6, 5)
    expected = np.stack([np.asarray(Image.open(p)) for p in paths]) / 255
    np.testing.assert_allclose(tensor[:, 0].numpy(), expected, atol=1e-6)


def test_process_decode_names_a_corrupt_file(tmp_path):
    paths = _write(tmp_path, image_module.PROCESS_THRESHOLD)
    (tmp_path / "17.png").write_bytes(b"not a png")
    encoder = NetEncoder("Image", size=(5, 6), color_space="Grayscale")
    with pytest.raises(InputError, match=r'cannot read the image file ".*17\.png": it is corrupt or not an image'):
        encoder.encode(paths)
