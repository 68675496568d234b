"""Versioned SQL migrations for the PostgreSQL store (NNNN_name.sql, applied in order)."""
