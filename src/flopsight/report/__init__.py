"""Renderers: pure functions of a Profile. Nothing here imports torch."""
