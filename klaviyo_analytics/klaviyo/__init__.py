"""The Klaviyo client layer: the only code that talks to Klaviyo's API (HTTP, pacing, retries,
caching, deadlines, revisions, redaction, accounts and their keys, upstream errors)."""
