"""Who is calling: users, grants, tokens, and the OAuth resource and authorization servers."""
