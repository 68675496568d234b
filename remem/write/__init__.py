"""The write path: messages in, memory records out."""

from remem.write.ingest import index_text, normalize_messages, records_from_messages

__all__ = ["index_text", "normalize_messages", "records_from_messages"]
