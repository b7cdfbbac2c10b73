"""Turning layer arguments (initializers, constraints, activations) into config values and back.

Objects with ``get_config`` are stored as ``{'class_name', 'config'}``, functions by name. While a
model loads, ``custom_object_scope(custom_objects)`` makes user classes and functions (the book's
``ClipConstraint``, ``wasserstein_loss``, ``InstanceNormalization``) resolvable by those names.
"""
import contextlib

_scopes = []


@contextlib.contextmanager
def custom_object_scope(objects):
    _scopes.append(dict(objects or {}))
    try:
        yield
    finally:
        _scopes.pop()


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
