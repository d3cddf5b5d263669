"""Adapters beside server.py (MCP stdio) and api/ (REST): MCP over Streamable HTTP, its auth,
Prometheus metrics."""
