"""Contracts published by the broker module."""
