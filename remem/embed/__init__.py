"""Embedders: turn texts into L2-normalised float32 vectors."""

from remem.embed.base import Embedder
from remem.embed.minilm import MiniLMEmbedder
from remem.embed.openai_compat import OpenAIEmbedder

__all__ = ["Embedder", "MiniLMEmbedder", "OpenAIEmbedder", "default_embedder"]


def default_embedder() -> Embedder:
    """The bundled offline model (all-MiniLM-L6-v2, int8 ONNX), shared per process."""
    return MiniLMEmbedder.shared()
