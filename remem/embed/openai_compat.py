"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint."""

from __future__ import annotations

import httpx
import numpy as np

from remem.embed.base import normalize
from remem.errors import RememError


class OpenAIEmbedder:
    """Calls ``POST {base_url}/embeddings`` in batches; vectors are re-normalised."""

    def __init__(
        self,
        model: str,
        dim: int,
        base_url: str = "https://api.openai.com/v1",
        api_key: str | None = None,
        batch_size: int = 128,
        timeout_s: float = 60.0,
    ) -> None:
        self.model_name = model
        self.dim = dim
        self._url = base_url.rstrip("/") + "/embeddings"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._batch_size = batch_size
        self._client = httpx.Client(timeout=timeout_s)

    def embed(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = texts[start : start + self._batch_size]
            try:
                response = self._client.post(
                    self._url, json={"model": self.model_name, "input": batch}, headers=self._headers
                )
                response.raise_for_status()
                data = sorted(response.json()["data"], key=lambda d: d["index"])
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                raise RememError(f"embedding request to {self._url} failed: {exc}") from exc
            rows.extend(d["embedding"] for d in data)
        vectors = np.array(rows, dtype=np.float32).reshape(len(texts), -1)
        if vectors.shape[1] != self.dim:
            raise RememError(f"{self.model_name} returned {vectors.shape[1]} dimensions, expected {self.dim}")
        return normalize(vectors)
