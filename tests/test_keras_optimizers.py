"""Optimizers against hand-written NumPy versions of Keras 2.2's update formulas."""
import math

import numpy as np
import pytest

import tinygan as tg
from tinygan.keras import backend as K
from tinygan.keras import optimizers
from tinygan.kernels import optim as optim_kernels


def _params(seed=0, shapes=((3, 4), (4,))):
    rng = np.random.default_rng(seed)
    return [tg.Tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]


def _grads(step, shapes=((3, 4), (4,))):
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def keras_adam(p, grads, lr=0.001, b1=0.9, b2=0.999, eps=1e-7, decay=0.0):
    """Keras 2.2 Adam in float64 (lr_t form, epsilon outside the square root)."""
    p = p.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for it, g in enumerate(grads):
        lr_i = lr * (1.0 / (1.0 + decay * it))
        t = it + 1
        lr_t = lr_i * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr_t * m / (np.sqrt(v) + eps)
    return p


@pytest.mark.parametrize("steps", [1, 3])
def test_adam_matches_keras_formula(steps):
    params = _params()
    start = [p.numpy().copy() for p in params]
    opt = optimizers.Adam(lr=0.0002, beta_1=0.5)
    for s in range(steps):
        opt.apply_gradients(params, _grads(s))
    assert opt.iterations == steps
    for k, p in enumerate(params):
        want = keras_adam(start[k], [_grads(s)[k] for s in range(steps)], lr=0.0002, b1=0.5)
        np.testing.assert_allclose(p.numpy(), want, rtol=1e-5, atol=1e-7)


def test_adam_first_step_moves_each_weight_by_about_lr():
    # With bias correction, step one is lr * g / (|g| + eps): a move of lr for every element.
    params = _params()
    start = [p.numpy().copy() for p in params]
    optimizers.Adam(lr=0.01).apply_gradients(params, _grads(0))
    for p, p0, g in zip(params, start, _grads(0)):
        np.testing.assert_allclose(p0 - p.numpy(), 0.01 * np.sign(g), rtol=1e-4)


def test_adam_learning_rate_spelling_epsilon_and_decay():
    a = optimizers.Adam(learning_rate=0.003, decay=0.1, epsilon=1e-3)
    assert float(a.lr) == pytest.approx(0.003) and a.epsilon == 1e-3
    assert optimizers.Adam().epsilon == 1e-7 == K.epsilon()
    params = _params()
    start = [p.numpy().copy() for p in params]
    for s in range(3):
        a.apply_gradients(params, _grads(s))
    for k, p in enumerate(params):
        want = keras_adam(start[k], [_grads(s)[k] for s in range(3)], lr=float(a.lr), eps=1e-3, decay=0.1)
        np.testing.assert_allclose(p.numpy(), want, rtol=1e-5, atol=1e-7)


def test_adam_kernel_equals_reference_bitwise():
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(10_001).astype(np.float32) for _ in range(2)] + \
             [np.abs(rng.standard_normal(10_001)).astype(np.float32) for _ in range(2)]
    a = [x.copy() for x in arrays]
    b = [x.copy() for x in arrays]
    for lr_t in (1e-3, 2e-3, 5e-4):
        optim_kernels.adam_update(*a, lr_t, 0.5, 0.999, 1e-7)
        optim_kernels.adam_update_reference(*b, lr_t, 0.5, 0.999, 1e-7)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_adam_kernel_rejects_mismatched_arrays():
    p = np.zeros(4, np.float32)
    with pytest.raises(ValueError, match="contiguous"):
        optim_kernels.adam_update(p, np.zeros(4, np.float64), p.copy(), p.copy(), 1e-3, 0.9, 0.999, 1e-7)


def test_get_state_set_state_resumes_exactly():
    params = _params()
    opt = optimizers.Adam(lr=0.0002, beta_1=0.5)
    for s in range(2):
        opt.apply_gradients(params, _grads(s))
    saved_params = [p.numpy().copy() for p in params]
    state = opt.get_state()
    assert int(state["iterations"]) == 2 and set(state) >= {"m:0", "m:1", "v:0", "v:1", "lr"}
    for s in range(2, 4):
        opt.apply_gradients(params, _grads(s))
    want = [p.numpy().copy() for p in params]

    resumed = [tg.Tensor(x.copy(), requires_grad=True) for x in saved_params]
    fresh = optimizers.Adam(lr=0.5, beta_1=0.5)  # hyperparameters come from the config; lr from the state
    fresh.set_state(state)
    for s in range(2, 4):
        fresh.apply_gradients(resumed, _grads(s))
    for p, w in zip(resumed, want):
        np.testing.assert_array_equal(p.numpy(), w)


def test_sgd_momentum_matches_keras_formula():
    # Chapter 2's SGD(lr=0.1, momentum=0.3): v = 0.3*v - 0.1*g; p += v.
    params = _params()
    p, v = params[0].numpy().astype(np.float64), 0.0
    opt = optimizers.SGD(lr=0.1, momentum=0.3)
    for s in range(3):
        g = _grads(s)
        opt.apply_gradients(params, g)
        v = 0.3 * v - 0.1 * g[0]
        p = p + v
    np.testing.assert_allclose(params[0].numpy(), p, rtol=1e-5, atol=1e-6)


def test_sgd_nesterov_and_plain():
    params = _params(shapes=((5,),))
    p0 = params[0].numpy().astype(np.float64)
    g = _grads(0, shapes=((5,),))
    optimizers.SGD(lr=0.1, momentum=0.5, nesterov=True).apply_gradients(params, g)
    v = -0.1 * g[0]
    np.testing.assert_allclose(params[0].numpy(), p0 + 0.5 * v - 0.1 * g[0], rtol=1e-6)
    plain = _params(shapes=((5,),))
    optimizers.get("SGD").apply_gradients(plain, g)
    np.testing.assert_allclose(plain[0].numpy(), p0 - 0.01 * g[0], rtol=1e-6)


def test_rmsprop_matches_keras_formula():
    params = _params()
    p, a = params[1].numpy().astype(np.float64), 0.0
    opt = optimizers.RMSprop(lr=0.00005)
    for s in range(3):
        g = _grads(s)
        opt.apply_gradients(params, g)
        a = 0.9 * a + 0.1 * g[1] ** 2
        p = p - 0.00005 * g[1] / (np.sqrt(a) + 1e-7)
    np.testing.assert_allclose(params[1].numpy(), p, rtol=1e-5, atol=1e-8)


def test_get_by_name_and_config_round_trip():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    assert isinstance(optimizers.get("sgd"), optimizers.SGD)
    assert float(optimizers.get("sgd").lr) == pytest.approx(0.01)
    opt = optimizers.Adam(lr=0.0002, beta_1=0.5)
    assert optimizers.get(opt) is opt
    clone = optimizers.deserialize(optimizers.serialize(opt))
    assert type(clone) is optimizers.Adam and clone.get_config() == opt.get_config()
    assert clone.beta_1 == 0.5 and float(clone.lr) == pytest.approx(0.0002)
    with pytest.raises(ValueError, match="unknown optimizer"):
        optimizers.get("adamw")


def test_lr_is_a_variable_for_schedules():
    params = _params(shapes=((3,),))
    p0 = params[0].numpy().copy()
    opt = optimizers.SGD(lr=0.1)
    K.set_value(opt.lr, 0.0)
    opt.apply_gradients(params, _grads(0, shapes=((3,),)))
    np.testing.assert_array_equal(params[0].numpy(), p0)
    assert K.get_value(opt.learning_rate) == 0.0


def test_state_is_per_position_and_checked():
    opt = optimizers.Adam()
    opt.apply_gradients(_params(), _grads(0))
    with pytest.raises(ValueError, match="own optimizer"):
        opt.apply_gradients(_params(shapes=((2,),)), _grads(0, shapes=((2,),)))


def test_amsgrad_uses_running_max_of_v():
    params = _params(shapes=((4,),))
    p = params[0].numpy().astype(np.float64)
    m = v = vhat = np.zeros(4)
    opt = optimizers.Adam(lr=0.01, amsgrad=True)
    for s, scale in enumerate([10.0, 0.1]):
        g = _grads(s, shapes=((4,),))[0] * scale
        opt.apply_gradients(params, [g.astype(np.float32)])
        t = s + 1
        lr_t = 0.01 * math.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        vhat = np.maximum(vhat, v)
        p = p - lr_t * m / (np.sqrt(vhat) + 1e-7)
    np.testing.assert_allclose(params[0].numpy(), p, rtol=1e-5)


def test_adam_tiny_gradients_pin_the_epsilon_placement():
    # With |g| ~ 1e-6, sqrt(v) is comparable to epsilon, so Keras' lr_t form (epsilon added to the
    # uncorrected sqrt(v)) differs clearly from the paper's form (epsilon added to sqrt(v_hat)).
    params = _params(shapes=((50,),))
    p0 = params[0].numpy().copy()
    grads = [g * 1e-6 for g in (_grads(s, shapes=((50,),))[0] for s in range(3))]
    opt = optimizers.Adam(lr=0.01)
    for g in grads:
        opt.apply_gradients(params, [g])
    keras = keras_adam(p0, grads, lr=0.01)
    np.testing.assert_allclose(params[0].numpy() - p0, keras - p0, rtol=2e-3)
    m = v = 0.0
    paper = p0.astype(np.float64)
    for t, g in enumerate(grads, 1):
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        paper = paper - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-7)
    assert not np.allclose(paper - p0, keras - p0, rtol=0.05)
