"""Keras 2.2 activations by name (``Dense(..., activation='relu')``, ``Activation('tanh')``) on Tensors."""
from . import backend as K


def linear(x):
    return x


def relu(x, alpha=0.0, max_value=None):
    return K.relu(x, alpha=alpha, max_value=max_value)


def exponential(x):
    return K.exp(x)


def softmax(x, axis=-1):
    return K.softmax(x, axis=axis)


sigmoid, tanh, hard_sigmoid, softplus, softsign = K.sigmoid, K.tanh, K.hard_sigmoid, K.softplus, K.softsign

_BY_NAME = {"linear": linear, "relu": relu, "exponential": exponential, "softmax": softmax, "sigmoid": sigmoid,
            "tanh": tanh, "hard_sigmoid": hard_sigmoid, "softplus": softplus, "softsign": softsign}


def get(identifier):
    """A function from a name ('relu', 'sigmoid', ...), a callable, or None (linear)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _BY_NAME:
        return _BY_NAME[identifier]
    raise ValueError(f"Unknown activation function: {identifier!r}; known: {sorted(_BY_NAME)}")


def serialize(fn):
    """The name stored in configs (Keras' names for the built-ins, the function name otherwise)."""
    for name, known in _BY_NAME.items():
        if known is fn:
            return name
    return fn.__name__
