"""Alembic migrations of the case store, run by :class:`reclaim.store.Store` when it opens a store (see
:mod:`reclaim.store._migrate`): SQLite and PostgreSQL alike, in one transaction, under the write lock.

A new migration: a module in ``versions/`` named ``NNNN_what.py`` with ``revision = "NNNN"`` and
``down_revision`` the previous one (copy ``0002_case_seal.py``); write its DDL with :mod:`alembic.op` so it runs
on both engines, add its row to ``schema_version`` and raise ``SCHEMA_VERSION`` in ``_schema.py``, and keep
``tests/store/test_upgrade.py::test_the_migrations_build_exactly_the_models`` green (the migrations must
build exactly the ORM models). Never rewrite a released migration, never change what ``_seal.RECORDS`` covers
for an existing record type (stored seals would stop matching); downgrades are refused (evidence is kept).
"""
