"""keras.utils (to_categorical, plot_model) and keras.preprocessing.image."""
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from tinygan.keras.preprocessing.image import array_to_img, img_to_array, load_img, save_img
from tinygan.keras.utils import plot_model, to_categorical
from tinygan.keras.utils import vis_utils


def test_to_categorical():
    out = to_categorical([0, 2, 1], num_classes=4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]])
    assert to_categorical(np.array([[1], [0]])).shape == (2, 2)  # a trailing axis of 1 becomes the class axis
    assert to_categorical(np.zeros((2, 3), int), 5).shape == (2, 3, 5)
    with pytest.raises(ValueError, match="num_classes"):
        to_categorical([3], num_classes=2)


class InputLayer:
    pass


class Dense:
    pass


class Concatenate:
    pass


def _layer(cls, name, in_shape, out_shape, sources):
    layer = cls()
    layer.name, layer.input_shape, layer.output_shape = name, in_shape, out_shape
    layer._inbound_nodes = [SimpleNamespace(inbound_layers=sources)]
    return layer


def _two_input_model():
    """A duck-typed functional model: latent -> dense, then concatenate with a label input, then a head.
    As in a Keras Sequential model, the input layers are not in ``layers``."""
    latent = _layer(InputLayer, "input_1", (None, 100), (None, 100), [])
    label = _layer(InputLayer, "input_2", (None, 1), (None, 1), [])
    dense = _layer(Dense, "dense_1", (None, 100), (None, 50), [latent])
    merge = _layer(Concatenate, "concatenate_1", [(None, 50), (None, 1)], (None, 51), [dense, label])
    head = _layer(Dense, "dense_2", (None, 51), (None, 1), [merge])
    return SimpleNamespace(layers=[dense, merge, head])


def test_plot_model_graph_follows_inbound_layers():
    layers, edges = vis_utils._graph(_two_input_model())
    names = [layer.name for layer in layers]
    assert sorted(names) == ["concatenate_1", "dense_1", "dense_2", "input_1", "input_2"]
    named = {(names[a], names[b]) for a, b in edges}
    assert named == {("input_1", "dense_1"), ("dense_1", "concatenate_1"), ("input_2", "concatenate_1"),
                     ("concatenate_1", "dense_2")}
    depth = dict(zip(names, vis_utils._depths(len(layers), edges)))
    assert depth == {"input_1": 0, "dense_1": 1, "input_2": 1, "concatenate_1": 2, "dense_2": 3}


def test_plot_model_writes_a_png(tmp_path):
    path = tmp_path / "gan_plot.png"
    plot_model(_two_input_model(), to_file=str(path), show_shapes=True, show_layer_names=True)
    with Image.open(path) as img:
        assert img.format == "PNG"
        pixels = np.asarray(img.convert("L"))
    assert pixels.shape[0] > 200 and (pixels < 100).mean() > 0.01  # five rows of boxes with dark text
    plain = tmp_path / "plain.png"
    plot_model(_two_input_model(), to_file=str(plain))
    with Image.open(plain) as img:
        assert img.width < pixels.shape[1]  # no shape columns


def test_plot_model_without_graph_info_draws_a_chain(tmp_path):
    layers = [SimpleNamespace(name=f"layer_{i}", input_shape=(None, 2), output_shape=(None, 2)) for i in range(3)]
    assert vis_utils._graph(SimpleNamespace(layers=layers))[1] == [(0, 1), (1, 2)]
    plot_model(SimpleNamespace(layers=layers), to_file=str(tmp_path / "chain.png"), show_shapes=True)
    assert Image.open(tmp_path / "chain.png").format == "PNG"


def test_plot_model_on_a_real_sequential_model(tmp_path):
    sequential = pytest.importorskip("tinygan.keras.engine.sequential")
    core = pytest.importorskip("tinygan.keras.layers.core")
    model = sequential.Sequential([core.Dense(10, input_dim=5), core.Dense(1, activation="sigmoid")])
    layers, edges = vis_utils._graph(model)
    assert [type(layer).__name__ for layer in layers] == ["InputLayer", "Dense", "Dense"]
    assert edges == [(0, 1), (1, 2)]
    plot_model(model, to_file=str(tmp_path / "model.png"), show_shapes=True)
    assert Image.open(tmp_path / "model.png").format == "PNG"


# ---- preprocessing.image --------------------------------------------------------------------------

def test_load_img_modes_and_nearest_resize(tmp_path):
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[:, 3:] = [200, 100, 50]
    path = tmp_path / "img.png"
    Image.fromarray(rgb).save(path)
    img = load_img(path, target_size=(2, 3))  # (height, width)
    assert img.size == (3, 2) and img.mode == "RGB"
    x = img_to_array(img)
    assert x.shape == (2, 3, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0, 0], [0, 0, 0])
    np.testing.assert_array_equal(x[0, 2], [200, 100, 50])  # nearest: no blended edge pixels
    gray = img_to_array(load_img(path, color_mode="grayscale"))
    assert gray.shape == (4, 6, 1)
    with pytest.warns(UserWarning):
        assert load_img(path, grayscale=True).mode == "L"
    with pytest.raises(ValueError, match="color_mode"):
        load_img(path, color_mode="cmyk")


def test_array_to_img_scales_and_save_img_round_trips(tmp_path):
    x = np.linspace(-1, 1, 2 * 2 * 3, dtype=np.float32).reshape(2, 2, 3)
    img = array_to_img(x)
    assert img.mode == "RGB"
    back = np.asarray(img)
    assert back.min() == 0 and back.max() == 255
    np.testing.assert_array_equal(np.asarray(array_to_img(np.full((2, 2, 1), 7.0), scale=False)), np.full((2, 2), 7))
    path = tmp_path / "out.png"
    save_img(path, x)
    np.testing.assert_array_equal(img_to_array(load_img(path)), back.astype(np.float32))
