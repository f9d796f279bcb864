"""Database models, sessions and Alembic migrations."""
