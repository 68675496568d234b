"""The write path: messages in, memory records out."""

from remem.write.ingest import IndexConfig, index_text, index_texts, normalize_messages, records_from_messages

__all__ = ["IndexConfig", "index_text", "index_texts", "normalize_messages", "records_from_messages"]
