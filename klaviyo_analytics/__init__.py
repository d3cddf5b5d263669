"""klaviyo-mcp: Klaviyo reporting and approval-gated drafting for AI assistants."""

__version__ = "0.1.0"
