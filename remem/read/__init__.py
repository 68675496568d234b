"""The read path: hybrid retrieval and ranking."""

from remem.read.search import SearchConfig, hybrid_search

__all__ = ["SearchConfig", "hybrid_search"]
