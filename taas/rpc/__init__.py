"""Server <-> agent messaging over oslo.messaging."""
