"""Pydantic models of every tool's input and output (the catalog points at them)."""
