"""Rendering tool results for people: text, charts (PNG, the MCP App), prompts, the digest, docs and the
settings files."""
