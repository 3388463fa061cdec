"""Contracts published by the input module."""
