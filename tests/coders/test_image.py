"""The Image encoder and decoder: layouts, resizing against Pillow, files, normalization, errors."""

import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from symnet import InputError, NetDecoder, NetEncoder, NetError

rng = np.random.default_rng(0)


def random_image(width: int, height: int, mode: str = "RGB") -> Image.Image:
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(pixels[..., 0] if channels == 1 else pixels, mode)


def as_uint8(tensor: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] → (N, H, W, C) uint8, exactly (values are k/255)."""
    return torch.round(tensor * 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def test_port_type_and_repr() -> None:
    encoder = NetEncoder("Image", size=(32, 24), color_space="RGB")
    assert encoder.port_type.dims == (3, 24, 32)
    assert repr(encoder) == 'NetEncoder("Image", size=(32, 24))'
    assert NetEncoder("Image", 28, color_space="Grayscale").port_type.dims == (1, 28, 28)
    assert NetEncoder("Image", color_space="RGBA").port_type.dims == (4, None, None)


def test_grayscale_batch_equals_plain_torch() -> None:
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    batch, was_batch = NetEncoder("Image", size=(28, 28), color_space="Grayscale").encode(images)
    assert was_batch and batch.dtype == torch.float32
    assert torch.equal(batch, torch.from_numpy(images).float().div_(255).unsqueeze(1))


@pytest.mark.parametrize("mode, space", [("L", "Grayscale"), ("RGB", "RGB"), ("RGBA", "RGBA")])
def test_round_trip(mode: str, space: str) -> None:
    image = random_image(9, 5, mode)
    encoder = NetEncoder("Image", size=(9, 5), color_space=space, mean_image=0.25, variance_image=0.5)
    encoded, was_batch = encoder.encode(image)
    assert not was_batch and tuple(encoded.shape) == (1, encoder.channels, 5, 9)
    pixels = torch.from_numpy(np.array(image).reshape(5, 9, -1)).permute(2, 0, 1).float() / 255
    assert torch.allclose(encoded[0], (pixels - 0.25) / np.sqrt(0.5), atol=1e-6)
    (decoded,) = NetDecoder(encoder).decode(encoded, None)
    assert decoded.mode == mode and np.array_equal(np.asarray(decoded), np.asarray(image))


@pytest.mark.parametrize("method", ["Stretch", "Fit", "Fill"])
@pytest.mark.parametrize("resampling", ["Bilinear", "Nearest"])
def test_resize_methods_match_pillow(method: str, resampling: str) -> None:
    image = random_image(37, 23)
    size = (16, 12)
    resample = {"Bilinear": Image.Resampling.BILINEAR, "Nearest": Image.Resampling.NEAREST}[resampling]
    reference = {
        "Stretch": lambda: image.resize(size, resample),
        "Fit": lambda: ImageOps.pad(image, size, resample, color=(0, 0, 0)),
        "Fill": lambda: ImageOps.fit(image, size, resample),
    }[method]()
    encoder = NetEncoder("Image", size=size, resize_method=method, resampling=resampling)
    from_image = as_uint8(encoder.encode(image)[0])[0]
    from_array = as_uint8(encoder.encode(np.asarray(image))[0])[0]
    assert np.array_equal(from_image, np.asarray(reference))
    assert np.array_equal(from_array, np.asarray(reference))


def test_fit_pads_with_the_padding_value() -> None:
    image = Image.new("L", (20, 10), 200)
    encoded = as_uint8(NetEncoder("Image", size=(10, 10), color_space="Grayscale", resize_method="Fit", padding=7).encode(image)[0])[0, ..., 0]
    assert np.array_equal(encoded, np.asarray(ImageOps.pad(image, (10, 10), Image.Resampling.BILINEAR, color=7)))
    assert encoded[0, 0] == 7 and encoded[5, 5] == 200


def test_color_conversion_of_arrays_matches_pillow() -> None:
    image = random_image(8, 6, "RGBA")
    pixels = np.asarray(image)
    for space, mode in [("Grayscale", "L"), ("RGB", "RGB"), ("RGBA", "RGBA")]:
        encoder = NetEncoder("Image", size=(8, 6), color_space=space)
        reference = np.asarray(image.convert(mode)).reshape(6, 8, -1)
        for source in (pixels, pixels[..., :3]):
            encoded = encoder.encode(source)[0][0].permute(1, 2, 0).numpy() * 255
            expected = np.asarray(Image.fromarray(source).convert(mode)).reshape(6, 8, -1) if source.shape[-1] == 3 else reference
            # arrays convert in float; Pillow rounds to 8 bits: at most one step apart
            assert np.abs(encoded - expected).max() <= 1.0
    gray = rng.integers(0, 256, (6, 8), dtype=np.uint8)
    rgb = NetEncoder("Image", size=(8, 6)).encode(gray)[0][0]
    assert torch.equal(rgb, torch.from_numpy(gray).float().div(255).expand(3, 6, 8))


def test_array_layouts_and_floats() -> None:
    encoder = NetEncoder("Image", size=(5, 4), color_space="RGB")
    single = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    assert encoder.encode(single)[0].shape == (1, 3, 4, 5) and not encoder.encode(single)[1]
    batch = rng.integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    assert encoder.encode(batch)[1] and encoder.encode(list(batch))[0].shape == (2, 3, 4, 5)
    assert torch.equal(encoder.encode(list(batch))[0], encoder.encode(batch)[0])
    floats = single.astype(np.float32) / 255
    assert torch.allclose(encoder.encode(floats)[0], encoder.encode(single)[0])
    assert torch.allclose(encoder.encode(torch.from_numpy(single))[0], encoder.encode(single)[0])


def test_files_decode_in_parallel_and_match(tmp_path) -> None:
    paths = []
    for i in range(6):
        path = tmp_path / f"{i}.png"
        random_image(12 + i, 10).save(path)
        paths.append(str(path))
    encoder = NetEncoder("Image", size=(8, 8), color_space="Grayscale", resize_method="Fill")
    batch, was_batch = encoder.encode(paths)
    assert was_batch and batch.shape == (6, 1, 8, 8)
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            expected = np.asarray(ImageOps.fit(image.convert("L"), (8, 8), Image.Resampling.BILINEAR))
        assert np.array_equal(as_uint8(batch)[i, ..., 0], expected)
    assert torch.equal(encoder.encode(tmp_path / "0.png")[0], batch[:1])


def test_decoder_array_property() -> None:
    decoder = NetDecoder("Image", size=(3, 2), color_space="RGB")
    (pixels,) = decoder.decode(torch.full((1, 3, 2, 3), 0.5), "Array")
    assert pixels.shape == (2, 3, 3) and pixels.dtype == np.uint8 and (pixels == 128).all()


def test_errors(tmp_path) -> None:
    corrupt = tmp_path / "broken.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    encoder = NetEncoder("Image", size=(4, 4))
    with pytest.raises(InputError, match=r'cannot read the image file ".*broken\.png": it is corrupt or not an image'):
        encoder.encode([str(corrupt)])
    with pytest.raises(InputError, match=r'the image file ".*missing\.png" does not exist'):
        encoder.encode(str(tmp_path / "missing.png"))
    with pytest.raises(InputError, match=r"image 1 has the I;16 mode \(16 or 32 bits per pixel\).*scale it to 8 bits first"):
        encoder.encode([Image.new("L", (4, 4)), Image.new("I;16", (4, 4))])
    with pytest.raises(InputError, match=r"expected a channels-last image array .* but received shape \(2, 3, 4, 5, 6\)"):
        encoder.encode(np.zeros((2, 3, 4, 5, 6), np.uint8))
    with pytest.raises(InputError, match=r"integer pixels must be in 0 … 255 but these range from -1 to -1; scale them"):
        NetEncoder("Image").encode(np.full((4, 4), -1, np.int32))
    assert NetEncoder("Image", color_space="Grayscale").encode(np.full((4, 4), 51, np.int32))[0].max().item() == pytest.approx(0.2)  # ints are pixels
    with pytest.raises(InputError, match=r"the images of a batch have different sizes \(4×4 and 5×6\); give the encoder a size"):
        NetEncoder("Image").encode([np.zeros((4, 4), np.uint8), np.zeros((6, 5), np.uint8)])
    with pytest.raises(InputError, match=r"expected a PIL image, an image file path or a uint8 array but received int \(item 0\)"):
        encoder.encode([3])
    with pytest.raises(NetError, match=r'"Image" encoder: color_space must be one of "Grayscale", "RGB", "RGBA"; received "Greyscale"\. Did you mean "Grayscale"\?'):
        NetEncoder("Image", color_space="Greyscale")
    with pytest.raises(NetError, match=r"size must be \(width, height\) with positive ints"):
        NetEncoder("Image", size=(0, 3))
    with pytest.raises(NetError, match=r"mean_image needs 1 or 3 values \(one per channel\) but received 2"):
        NetEncoder("Image", mean_image=(0.1, 0.2))
    with pytest.raises(NetError, match=r"variance_image must be positive"):
        NetEncoder("Image", variance_image=0)
    with pytest.raises(InputError, match=r"expected a batch of shape \(N, 1, H, W\) but received \(2, 3, 4, 4\)"):
        NetDecoder("Image", color_space="Grayscale").decode(torch.zeros(2, 3, 4, 4), None)


def test_crop_fraction_is_imagenets_resize_256_crop_224() -> None:
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    encoder = NetEncoder("Image", 224, resize_method="Fill", crop_fraction=0.875)
    # the central 87.5% of the shorter side (262.5 of 300 pixels), resized once to 224×224
    expected = np.asarray(picture.resize((224, 224), Image.Resampling.BILINEAR, box=(68.75, 18.75, 331.25, 281.25)), dtype=np.float32) / 255
    encoded = encoder.encode(picture)[0][0].permute(1, 2, 0).numpy()
    assert np.abs(encoded - expected).mean() < 2 / 255
    # an image already 224×224 is still cropped: the crop is part of the recipe, not of resizing
    square = np.asarray(picture.resize((224, 224)))
    assert not torch.equal(encoder.encode(square)[0], NetEncoder("Image", 224).encode(square)[0])
    with pytest.raises(NetError, match=r'crop_fraction=0.5 crops the centre of the image, which only resize_method="Fill" does; received resize_method="Stretch"'):
        NetEncoder("Image", 224, crop_fraction=0.5)
    with pytest.raises(NetError, match=r"crop_fraction must be a number in \(0, 1\]"):
        NetEncoder("Image", 224, resize_method="Fill", crop_fraction=0)
