"""Scheduled maintenance inside ``remem serve --maintain-every HOURS``: every period, each
tenant's memories get :meth:`remem.Memory.maintain` with its default policy (audited as
actor ``remem.schedule``). Runs are idempotent, so extra workers doing the same is harmless."""

from __future__ import annotations

import logging
from typing import Any

import anyio

from remem.errors import RememError
from remem.models import acting_as

log = logging.getLogger("remem.server")
ACTOR = "remem.schedule"


def maintain_all(tenants: Any) -> dict[str, Any]:
    """One pass over every tenant; returns {tenant: report dict or error text}."""
    results: dict[str, Any] = {}
    with acting_as(ACTOR):
        for tenant in tenants.names():
            try:
                report = tenants.memory(tenant).maintain()
                results[tenant] = report.as_dict()
                log.info("maintenance of tenant %s: archived %s, merged %d group(s), %d summary(ies) in %.1f s",
                         tenant, report.archived or "nothing", report.merged_groups, report.summaries, report.seconds)
            except RememError as exc:
                results[tenant] = str(exc)
                log.warning("maintenance of tenant %s failed: %s", tenant, exc)
    return results


async def every(hours: float, tenants: Any) -> None:
    """Run :func:`maintain_all` every ``hours`` until cancelled (the first run after one period)."""
    while True:
        await anyio.sleep(hours * 3600)
        await anyio.to_thread.run_sync(maintain_all, tenants)
