"""Alembic migrations of the case store (run by :class:`reclaim.store.Store` when it opens a store)."""
