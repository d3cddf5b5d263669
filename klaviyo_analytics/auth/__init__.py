"""Authentication and authorization for every network adapter.

``principal`` says who is calling and with which grants; ``users`` loads them from a users file
(or, without one, from the REST token settings). The service sees only the ``Principal`` in
``CallContext``.
"""

from klaviyo_analytics.auth.principal import ANY_ACCOUNT, LOCAL, Principal, Role

__all__ = ["ANY_ACCOUNT", "LOCAL", "Principal", "Role"]
