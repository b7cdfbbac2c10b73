"""``keras.models``: Sequential, Model, Input, save_model/load_model, model_from_json, clone_model."""
from .engine.input_layer import Input
from .engine.saving import load_model, model_from_config, model_from_json, save_model
from .engine.sequential import Sequential
from .engine.training import Model

__all__ = ["Input", "Model", "Sequential", "load_model", "model_from_config", "model_from_json", "save_model"]
