"""The OAuth provider's views, by concern: authorize, tokens, account."""
