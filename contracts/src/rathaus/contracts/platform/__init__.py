"""Contracts published by the platform module."""
