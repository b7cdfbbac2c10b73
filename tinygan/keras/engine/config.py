"""Turning layer arguments (initializers, constraints, activations) into config values and back.

Objects with ``get_config`` are stored as ``{'class_name', 'config'}``, functions by name. While a
model loads, ``custom_object_scope(custom_objects)`` makes user classes and functions (the book's
``ClipConstraint``, ``wasserstein_loss``, ``InstanceNormalization``) resolvable by those names.

Loading is safe by default (``safe_mode=True``, as in current Keras): names read from a file are looked up
among tinygan's built-ins and the caller's ``custom_objects`` only, never imported. ``safe_mode=False``
(for files you trust) lets a Lambda layer import the module its config names.
"""
import contextlib

_scopes = []
_safe_modes = []


@contextlib.contextmanager
def custom_object_scope(objects, safe_mode=None):
    """Make ``objects`` resolvable by name; ``safe_mode`` (when given) holds for loads inside the block."""
    _scopes.append(dict(objects or {}))
    if safe_mode is not None:
        _safe_modes.append(bool(safe_mode))
    try:
        yield
    finally:
        _scopes.pop()
        if safe_mode is not None:
            _safe_modes.pop()


def in_safe_mode():
    """True unless the innermost load asked for ``safe_mode=False``."""
    return _safe_modes[-1] if _safe_modes else True


def custom_objects():
    merged = {}
    for scope in _scopes:
        merged.update(scope)
    return merged


def serialize_object(obj):
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    if hasattr(obj, "get_config"):
        return {"class_name": type(obj).__name__, "config": obj.get_config()}
    return obj.__name__


def resolve(module, identifier):
    """``module.get(identifier)``, with names and configs of custom objects taken from the active scope."""
    scope = custom_objects()
    if isinstance(identifier, str) and identifier in scope:
        return scope[identifier]
    if isinstance(identifier, dict) and hasattr(module, "deserialize"):
        return module.deserialize(identifier, scope)
    return module.get(identifier)
