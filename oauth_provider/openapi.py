"""OpenAPI descriptions of the OAuth side: the bearer scheme and the token endpoint."""

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

SECURITY_SCHEME = "realgeeksOAuth"


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oauth_provider.authentication.BearerTokenAuthentication"
    match_subclasses = True  # subscriptions.views.SubscriptionTokenAuthentication
    name = SECURITY_SCHEME

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "oauth2",
            "description": (
                "Send the access token from the token endpoint as `Authorization: Bearer <token>`. "
                "A token is bound to the one site the user chose when connecting."
            ),
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/piesync/oauth/authorize/",
                    "tokenUrl": "/piesync/oauth/token/",
                    "refreshUrl": "/piesync/oauth/token/",
                    "scopes": settings.OAUTH2_PROVIDER["SCOPES"],
                }
            },
        }

    def get_security_requirement(self, auto_schema: AutoSchema) -> dict[str, list[str]]:
        scope = getattr(auto_schema.view, "required_scope", None)
        return {self.name: [scope] if scope else []}
