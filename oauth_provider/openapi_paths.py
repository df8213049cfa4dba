"""OpenAPI text for the OAuth endpoints, which are not DRF views: added to the schema by
`add_oauth_endpoints`, a drf-spectacular post-processing hook (SPECTACULAR_SETTINGS)."""

from typing import Any

_OAUTH_ERROR = {
    "type": "object",
    "description": "RFC 6749 §5.2 error.",
    "properties": {
        "error": {
            "type": "string",
            "enum": [
                "invalid_request",
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
            ],
        },
        "error_description": {"type": "string"},
    },
    "required": ["error"],
}


def _query(name: str, description: str, *, required: bool = False, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string", **schema},
    }


AUTHORIZE_ENDPOINT = {
    "/piesync/oauth/authorize/": {
        "get": {
            "operationId": "oauth_authorize",
            "summary": "Ask a Real Geeks user to connect one of their sites (a browser page)",
            "description": (
                "Open in the user's browser, not from a server (RFC 6749 §4.1.1). Not logged "
                "in: the Real Geeks login page first. Then the consent page: the user picks "
                "one of their sites and presses Allow or Deny. Both redirect to "
                "`redirect_uri` (RFC 6749 §4.1.2) with `state` and `iss` (RFC 9207): Allow "
                "with `code` (for the token endpoint), Deny with `error=access_denied`; "
                "other errors with `error` and `error_description`. An unknown `client_id` "
                "or an unregistered `redirect_uri` never redirects (§4.1.2.1): an error "
                "page says so."
            ),
            "tags": ["oauth"],
            "security": [],
            "parameters": [
                _query("client_id", "The client id Real Geeks issued to PieSync.", required=True),
                _query("response_type", "Always `code`.", required=True, enum=["code"]),
                _query(
                    "redirect_uri",
                    "One of the client's registered redirect URIs, exactly.",
                    required=True,
                    format="uri",
                ),
                _query(
                    "scope",
                    "Space-separated; both scopes when omitted.",
                    example="leadrouter:connect leadrouter:send",
                ),
                _query("state", "Echoed in the redirect; check it (RFC 6749 §10.12)."),
                _query(
                    "code_challenge",
                    "PKCE (RFC 7636): required for public clients, honoured when sent.",
                ),
                _query("code_challenge_method", "PKCE method: only S256.", enum=["S256"]),
            ],
            "responses": {
                "200": {
                    "description": "The login page or the consent page (HTML).",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
                "302": {
                    "description": (
                        "To the login page when not logged in. Then to `redirect_uri` with "
                        "`code`, `state` and `iss`; or with `error`, `error_description`, "
                        "`state` and `iss`."
                    ),
                    "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
                },
                "400": {
                    "description": "Unknown `client_id` or unregistered `redirect_uri`: a page.",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
            },
        }
    }
}

TOKEN_ENDPOINT = {
    "/piesync/oauth/token/": {
        "post": {
            "operationId": "oauth_token",
            "summary": "Exchange an authorization code or a refresh token for tokens",
            "description": (
                "Authenticate the client with HTTP Basic (client id and secret); credentials "
                "in the body are accepted too (RFC 6749 §2.3.1). Refresh tokens rotate: use "
                "the newest one; reusing an old one revokes the whole chain."
            ),
            "tags": ["oauth"],
            "security": [{"clientBasic": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": {
                            "type": "object",
                            "required": ["grant_type"],
                            "properties": {
                                "grant_type": {
                                    "type": "string",
                                    "enum": ["authorization_code", "refresh_token"],
                                },
                                "code": {"type": "string"},
                                "redirect_uri": {"type": "string", "format": "uri"},
                                "code_verifier": {"type": "string"},
                                "refresh_token": {"type": "string"},
                                "client_id": {"type": "string"},
                                "client_secret": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Tokens for the site the user chose.",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": [
                                    "access_token",
                                    "refresh_token",
                                    "token_type",
                                    "expires_in",
                                    "scope",
                                    "site_uuid",
                                    "site_domain",
                                ],
                                "properties": {
                                    "access_token": {"type": "string"},
                                    "refresh_token": {"type": "string"},
                                    "token_type": {"type": "string", "enum": ["Bearer"]},
                                    "expires_in": {"type": "integer"},
                                    "scope": {"type": "string"},
                                    "site_uuid": {"type": "string", "format": "uuid"},
                                    "site_domain": {"type": "string"},
                                },
                            },
                            "example": {
                                "access_token": "Jx0p3m...",
                                "refresh_token": "9fQk2b...",
                                "token_type": "Bearer",
                                "expires_in": 3600,
                                "scope": "leadrouter:connect leadrouter:send",
                                "site_uuid": "aa808177-d2cc-415d-b504-a36abf39ac00",
                                "site_domain": "www.site.com",
                            },
                        }
                    },
                },
                "400": {
                    "description": "Invalid request, code or refresh token.",
                    "content": {"application/json": {"schema": _OAUTH_ERROR}},
                },
                "401": {
                    "description": "Client authentication failed.",
                    "content": {"application/json": {"schema": _OAUTH_ERROR}},
                },
                "429": {
                    "description": (
                        "Too many token requests from this client, or from this address, or "
                        "too many failed client authentications from this address; nothing "
                        "was issued. Retry after `Retry-After` seconds."
                    ),
                    "headers": {
                        "Retry-After": {
                            "description": "Seconds to wait before the next request.",
                            "schema": {"type": "integer", "minimum": 1},
                        }
                    },
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {
                                        "type": "string",
                                        "enum": ["temporarily_unavailable"],
                                    },
                                    "error_description": {"type": "string"},
                                },
                                "required": ["error"],
                            },
                            "example": {
                                "error": "temporarily_unavailable",
                                "error_description": (
                                    "Request was throttled. Expected available in 12 seconds."
                                ),
                            },
                        }
                    },
                },
            },
        }
    }
}

CLIENT_BASIC_SCHEME = {
    "securitySchemes": {
        "clientBasic": {
            "type": "http",
            "scheme": "basic",
            "description": "The client id and secret Real Geeks issued to PieSync.",
        }
    }
}


def add_oauth_endpoints(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Appends the authorize and token endpoints and the client's Basic scheme, as
    APPEND_PATHS and APPEND_COMPONENTS would without settings importing this module."""
    result["paths"].update(AUTHORIZE_ENDPOINT)
    result["paths"].update(TOKEN_ENDPOINT)
    components = result.setdefault("components", {})
    schemes = {**components.get("securitySchemes", {}), **CLIENT_BASIC_SCHEME["securitySchemes"]}
    components["securitySchemes"] = dict(sorted(schemes.items()))
    return result
