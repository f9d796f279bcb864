"""Pydantic request and response shapes of the API (one type per shape)."""
