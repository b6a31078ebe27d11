"""The book's models and their registry.

from actseg_lib.models import build_model, list_models
model = build_model("ms_tcn", size="reduced", in_channels=75, num_classes=13)
"""

from .registry import build_model, count_parameters, list_models, model_config, model_entry, register_model

__all__ = ["build_model", "count_parameters", "list_models", "model_config", "model_entry", "register_model"]
