"""Keras 2.2 optimizers (SGD, RMSprop, Adam) with Keras 2.2's exact update formulas.

An optimizer updates parameter Tensors in place: ``apply_gradients(params, grads)`` changes each
``param.data`` from the matching gradient array. Its per-parameter state (momenta) is keyed by the
parameter's position in the list, so a model must always pass its trainable weights in the same
order; ``get_state`` / ``set_state`` snapshot that state for checkpoints that resume exactly.
"""
import math

import numpy

from .. import backend as tg_backend
from .. import distributed
from ..autograd.tensor import Tensor
from ..kernels import dispatch
from . import backend as K


class Optimizer:
    """Base class: learning-rate decay, the iteration counter and named per-parameter slots.

    Subclasses set ``slot_names`` and implement ``_update(p, g, slots, lr)`` on raw arrays, in place.
    """

    slot_names = ()

    def __init__(self, lr, decay=0.0, learning_rate=None, **kwargs):
        allowed = {"clipnorm", "clipvalue"}
        unknown = set(kwargs) - allowed
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(unknown)}")
        self.lr = _host_variable(lr if learning_rate is None else learning_rate)
        self.decay = float(decay)
        self.initial_decay = self.decay
        self.clipnorm = kwargs.get("clipnorm")
        self.clipvalue = kwargs.get("clipvalue")
        self.iterations = 0
        self._slots = {name: [] for name in self.slot_names}
        self._dtypes = ()                        # the parameters' dtypes, known from the first step
        self._scalars, self._device_slots = {}, {}

    @property
    def learning_rate(self):
        return self.lr

    def _current_lr(self):
        """Keras 2.2 time decay: lr / (1 + decay * iterations), iterations counted before this step."""
        lr = float(self.lr)
        if self.initial_decay > 0:
            lr *= 1.0 / (1.0 + self.decay * self.iterations)
        return lr

    def apply_gradients(self, params, grads, averaging=None):
        """One update step of every Tensor in ``params`` from the gradient arrays in ``grads``. ``averaging``:
        a ``distributed.overlapped_mean`` that the backward has been handing the gradients to."""
        params, grads = list(params), list(grads)
        if len(params) != len(grads):
            raise ValueError(f"{len(params)} parameters but {len(grads)} gradients")
        self._ensure_slots(params)
        # under mpiexec: the gradients of the global batch (the average over the ranks), before clipping
        grads = [_raw(g, p) for p, g in zip(params, grads)]
        grads = self._clip(averaging.result(grads) if averaging is not None else distributed.mean_gradients(grads))
        self.begin_step()
        self.update_params(params, grads)
        self.end_step()

    # The three parts of a step, apart because a captured CUDA graph (keras/engine/graph_step.py) replays
    # only the middle one: the host writes each step's scalars before a replay and counts it after.
    def begin_step(self):
        """Put this step's scalars (the learning rate; Adam's bias-corrected lr_t) where the update reads them:
        host floats on the CPU; on a GPU one-element device arrays, filled here by a tiny kernel (no copy from
        the host), so that a graph that recorded the update reads each replay's values, not the recorded ones."""
        values = self._step_scalars(self._current_lr())
        if tg_backend.xp() is numpy:
            self._scalars = {dtype: values for dtype in self._dtypes}
            return
        for dtype in self._dtypes:
            if dtype not in self._scalars:
                self._device_slots[dtype] = slot = tg_backend.xp().zeros(len(values), dtype)
                self._scalars[dtype] = {name: slot[i:i + 1] for i, name in enumerate(values)}
            for name, value in values.items():
                self._scalars[dtype][name].fill(value)

    def update_params(self, params, grads):
        """The in-place updates, reading the scalars :meth:`begin_step` wrote (no host arithmetic)."""
        for i, (p, g) in enumerate(zip(params, grads)):
            self._update(p.data, g, {name: self._slots[name][i] for name in self.slot_names},
                         self._scalars[p.data.dtype])
            p.bump_version()  # a graph still holding p must not backpropagate through the old value

    def end_step(self):
        self.iterations += 1

    def _step_scalars(self, lr):
        """The host scalars of the update about to be made, by name (``_update`` gets them)."""
        return {"lr": lr}

    def _ensure_slots(self, params):
        for name, arrays in self._slots.items():
            if not arrays:
                arrays.extend(tg_backend.xp().zeros_like(p.data) for p in params)
            elif [a.shape for a in arrays] != [p.shape for p in params]:
                raise ValueError(f"{type(self).__name__} was first used on parameters of shapes "
                                 f"{[a.shape for a in arrays]} and now gets {[p.shape for p in params]}; "
                                 "each model needs its own optimizer instance")
        self._dtypes = tuple(dict.fromkeys(p.data.dtype for p in params))

    def _clip(self, grads):
        """Keras 2.2's clipnorm (all gradients scaled so their global L2 norm is at most clipnorm) and clipvalue."""
        xp = tg_backend.xp()
        if self.clipnorm is not None and self.clipnorm > 0:
            norm = math.sqrt(sum(float((g * g).sum()) for g in grads))
            grads = [g * (self.clipnorm / max(norm, self.clipnorm)) for g in grads]
        if self.clipvalue is not None and self.clipvalue > 0:
            grads = [xp.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def _update(self, p, g, slots, scalars):
        """Update ``p`` (and its slots) in place from ``g``; ``scalars`` is this step's dict from
        ``_step_scalars``, as floats (CPU) or one-element device arrays (GPU)."""
        raise NotImplementedError

    # ---- checkpoints and configs --------------------------------------------------------------
    def get_state(self):
        """The iteration count, the learning rate and a NumPy copy of every slot array, as a flat dict
        ('iterations', 'lr', 'm:0', 'v:0', ...) that ``numpy.savez`` can store."""
        state = {"iterations": numpy.asarray(self.iterations, dtype=numpy.int64), "lr": K.get_value(self.lr)}
        for name, arrays in self._slots.items():
            for i, a in enumerate(arrays):
                state[f"{name}:{i}"] = tg_backend.to_numpy(a).copy()
        return state

    def set_state(self, state):
        """Restore what ``get_state`` returned; the next updates are the ones the saved run would have made."""
        self.iterations = int(state["iterations"])
        if "lr" in state:
            self.lr = _host_variable(state["lr"])
        xp = tg_backend.xp()
        for name in self.slot_names:
            count = sum(1 for key in state if key.startswith(name + ":"))
            self._slots[name] = [xp.array(state[f"{name}:{i}"]) for i in range(count)]

    def get_config(self):
        config = {"lr": float(self.lr), "decay": self.decay}
        if self.clipnorm is not None:
            config["clipnorm"] = self.clipnorm
        if self.clipvalue is not None:
            config["clipvalue"] = self.clipvalue
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class SGD(Optimizer):
    """Keras 2.2 SGD: v = momentum*v - lr*g; p += v (Nesterov: p += momentum*v - lr*g)."""

    slot_names = ("moments",)

    def __init__(self, lr=0.01, momentum=0.0, decay=0.0, nesterov=False, **kwargs):
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        super().__init__(lr, decay, **kwargs)

    def _update(self, p, g, slots, scalars):
        lr = scalars["lr"]
        v = slots["moments"]
        v *= self.momentum
        v -= lr * g
        if self.nesterov:
            p += self.momentum * v - lr * g
        else:
            p += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """Keras 2.2 RMSprop: a = rho*a + (1-rho)*g^2; p -= lr*g / (sqrt(a) + epsilon)."""

    slot_names = ("accumulators",)

    def __init__(self, lr=0.001, rho=0.9, epsilon=None, decay=0.0, **kwargs):
        self.rho = float(rho)
        self.epsilon = K.epsilon() if epsilon is None else float(epsilon)
        super().__init__(lr, decay, **kwargs)

    def _update(self, p, g, slots, scalars):
        lr = scalars["lr"]
        a = slots["accumulators"]
        a *= self.rho
        a += (1.0 - self.rho) * (g * g)
        p -= lr * g / (tg_backend.xp().sqrt(a) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Keras 2.2 Adam with the bias correction folded into the step size:
    lr_t = lr*sqrt(1-beta_2^t)/(1-beta_1^t), p -= lr_t*m/(sqrt(v)+epsilon), epsilon outside the sqrt.

    On the CPU the update is the fused Numba kernel of ``kernels/optim.py``.
    """

    def __init__(self, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0, amsgrad=False, **kwargs):
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = K.epsilon() if epsilon is None else float(epsilon)
        self.amsgrad = bool(amsgrad)
        self.slot_names = ("m", "v", "vhat") if self.amsgrad else ("m", "v")
        super().__init__(lr, decay, **kwargs)

    def _step_scalars(self, lr):
        t = self.iterations + 1
        return {"lr_t": lr * math.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)}

    def _update(self, p, g, slots, scalars):
        lr_t = scalars["lr_t"]
        m, v = slots["m"], slots["v"]
        if self.amsgrad:
            self._amsgrad_update(p, g, m, v, slots["vhat"], lr_t)
        else:  # fused in place: Numba on the CPU, CUDA on the GPU (kernels/dispatch.py)
            dispatch.adam_update(p, g, m, v, lr_t, self.beta_1, self.beta_2, self.epsilon)

    def _amsgrad_update(self, p, g, m, v, vhat, lr_t):
        """AMSGrad divides by the running maximum of v instead of v itself."""
        xp = tg_backend.xp()
        m *= self.beta_1
        m += (1.0 - self.beta_1) * g
        v *= self.beta_2
        v += (1.0 - self.beta_2) * (g * g)
        xp.maximum(vhat, v, out=vhat)
        p -= lr_t * m / (xp.sqrt(vhat) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


def _host_variable(value):
    """The learning rate: a scalar Tensor, as in Keras, so schedules can call ``K.set_value(opt.lr, new_lr)``.
    It stays a NumPy scalar on every device: each step reads it, and reading a GPU scalar would make every
    step wait for the device to finish its queued work."""
    return Tensor(numpy.array(value, dtype=K.floatx()), requires_grad=True, name="lr", _copy=False)


def _raw(grad, param):
    """A gradient (Tensor or array) as a contiguous array of the parameter's dtype."""
    data = grad.data if isinstance(grad, Tensor) else grad  # (a CuPy array's own .data is its memory pointer)
    data = tg_backend.xp().ascontiguousarray(data)
    if data.shape != param.shape:
        raise ValueError(f"gradient of shape {data.shape} for a parameter of shape {param.shape}")
    return data.astype(param.dtype, copy=False)


sgd, rmsprop, adam = SGD, RMSprop, Adam
_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config, custom_objects=None):
    """An optimizer from ``{'class_name': ..., 'config': {...}}`` (names are case-insensitive)."""
    name = config["class_name"]
    custom = custom_objects or {}
    cls = custom.get(name) or _BY_NAME.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r}; known: {sorted(_BY_NAME)} "
                         "(pass custom ones in custom_objects)")
    return cls.from_config(config.get("config", {}))


def get(identifier):
    """An Optimizer from an instance, a name ('adam', 'sgd', 'rmsprop', any case) or a config dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    raise ValueError(f"could not interpret optimizer identifier {identifier!r}: give an Optimizer instance "
                     f"or one of {sorted(_BY_NAME)}")
