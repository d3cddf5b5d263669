"""How long an MCP client may keep what this server lists (``ttlMs``/``cacheScope``, revision 2026-07-28).

Only the catalog methods are cacheable in that revision (``server/discover``, ``tools/list``,
``prompts/list``, ``resources/list``, ``resources/templates/list``, ``resources/read``); tool calls are
not, so the freshness of Klaviyo data (the client's read cache, KLAVIYO_MCP_CACHE_TTL_SECONDS) is
reported inside each tool result's envelope, never as an MCP cache hint.

What the catalog methods answer is fixed when the server starts (tools, prompts and the chart app's
``ui://`` page come from the settings and this version; ``visible_tools`` filters by
KLAVIYO_MCP_READ_ONLY and KLAVIYO_MCP_TOOLSETS, never by caller), so:

- ``public``: every caller gets the same answer, whoever signed in; a shared cache may serve it;
- :data:`CATALOG_TTL_MS`: an answer stays right until a restart with other settings or another
  version; five minutes is how long such a restart may take to reach a client that caches.

Under 2025-11-25 and older the SDK leaves these fields off the wire (the revision has no such fields).
"""

from __future__ import annotations

from mcp.server import CacheHint
from mcp_types.methods import CacheableMethod

CATALOG_TTL_MS = 5 * 60 * 1000
CATALOG_METHODS: tuple[CacheableMethod, ...] = (
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
)
CATALOG_CACHE_HINTS: dict[CacheableMethod, CacheHint] = {
    method: CacheHint(ttl_ms=CATALOG_TTL_MS, scope="public") for method in CATALOG_METHODS
}
