"""Step 4b (MemoryBank): one profile memory per user, kept up to date incrementally."""

from __future__ import annotations


from remem.llm import UPDATE_PROFILE, LLMClient
from remem.models import Kind, MemoryRecord, Operation
from remem.store import Query
from remem.write.versions import fingerprint, insert, new_version
from remem.write.writer import Writer

PROFILE_ROLE = "user_profile"
MAX_SOURCES = 1000


def user_profile(writer: Writer, user_id: str) -> MemoryRecord | None:
    """The user's profile memory, if one was written."""
    q = Query(user_id=user_id, kinds=[Kind.PROFILE], filters={"metadata.remem_role": PROFILE_ROLE})
    found = writer.store.list(q, limit=1, newest_first=True)
    return found[0] if found else None


def _line(rec: MemoryRecord, *, ended: bool) -> str:
    when = rec.event_time or rec.valid_from
    date = f" ({when.date().isoformat()})" if when else ""
    if ended:
        end = rec.valid_to.date().isoformat() if rec.valid_to else "now"
        return f"- NO LONGER TRUE since {end}: {rec.content}"
    return f"- {rec.content}{date}"


def update_profile(
    writer: Writer, llm: LLMClient, user_id: str, current: list[MemoryRecord], ended: list[MemoryRecord], subject: str
) -> MemoryRecord | None:
    """Merge new/changed facts (``current``) and facts that stopped holding (``ended``) into the
    user's profile. Returns the profile written, or None when nothing changed.
    Raises :class:`~remem.errors.LLMError` when the LLM fails."""
    if not current and not ended:
        return None
    prev = user_profile(writer, user_id)
    facts = "\n".join([_line(r, ended=False) for r in current] + [_line(r, ended=True) for r in ended])
    out = llm.complete_json(
        UPDATE_PROFILE,
        {"subject": subject, "profile": prev.content if prev else "(empty)", "facts": facts},
        operation="infer.profile",
    )
    text = out.profile.strip()
    ids = [r.id for r in current + ended]
    if prev is not None:
        if not out.changed or not text or text == prev.content:
            return None
        source = list(dict.fromkeys(prev.source + ids))[-MAX_SOURCES:]
        return new_version(
            writer, prev, op=Operation.UPDATE, reason=f"profile updated from {len(ids)} new or changed fact(s)",
            content=text, source=source,
        )
    if not text:
        return None
    record = MemoryRecord(
        content=text, kind=Kind.PROFILE, user_id=user_id, source=ids, importance=0.9,
        metadata={"remem_role": PROFILE_ROLE}, keywords=["profile"],
    )
    stored, _ = insert(writer, record, fp=fingerprint(PROFILE_ROLE, user_id), reason="profile started")
    return stored
