"""Memory strength: a forgetting curve used as a ranking prior.

Retention follows Ebbinghaus as used by MemoryBank, ``R = exp(-Δt / S)``, with Δt the
days since the memory was last recalled (or formed) and ``S`` its stability in days.
S grows with importance and with each retrieval that was actually used, so strong
memories decay *slower*. (MemoryBank's published code computes ``exp(-t / 5 * S)``,
i.e. ``exp(-(t/5)·S)``, which makes strong memories decay faster; not here.)
"""

from __future__ import annotations

import math
from datetime import datetime

from remem.models import MemoryRecord

BASE_STABILITY_DAYS = 30.0


def stability(record: MemoryRecord) -> float:
    """S in days: base × (0.5 + importance) × (1 + recalls)."""
    return BASE_STABILITY_DAYS * (0.5 + max(0.0, min(1.0, record.importance))) * (1 + record.access_count)


def retention(record: MemoryRecord, now: datetime) -> float:
    """R in (0, 1]: how well the memory is retained at ``now``."""
    last = record.last_accessed_at or record.event_time or record.created_at
    days = max(0.0, (now - last).total_seconds() / 86400.0)
    return math.exp(-days / stability(record))
