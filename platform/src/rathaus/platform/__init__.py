"""Rathaus platform: the kernel every module uses, the runtime, case orchestration.

Modules may import :mod:`rathaus.platform.kernel` only; the runtime and the
orchestration sit above the modules and wire them together.
"""
