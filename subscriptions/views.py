from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import JsonAPIView, json_object, validated
from core.errors import NotFound
from oauth_provider.authentication import BearerTokenAuthentication, bearer_application
from oauth_provider.permissions import PartnerCanReachSite, partner_site
from oauth_provider.selectors import BearerToken

from . import selectors, services
from .crypto import SecretUnreadable
from .serializers import (
    ErrorSerializer,
    FieldErrorsSerializer,
    SubscriptionSerializer,
    SubscriptionStateSerializer,
    subscription_state,
)


def error(description: str, message: str) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample("error", value={"error": message})],
    )


SITE_UUID = OpenApiParameter(
    "site_uuid",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="The site_uuid returned by the token endpoint.",
)


UNAUTHORIZED = error(
    "Missing, malformed, unknown, expired or revoked token.", "Invalid or expired access token"
)
FORBIDDEN = error(
    "The token lacks the `leadrouter:connect` scope.",
    "The access token lacks the leadrouter:connect scope",
)
SITE_NOT_FOUND = error("No such site, or not the site this token is bound to.", "Site not found")
SERVER_ERROR = error("Unknown server error.", "Internal server error")


class SubscriptionTokenAuthentication(BearerTokenAuthentication):
    """For a GET, the bearer token read with its site's subscription in the same query:
    the GET's one round trip. PUT and DELETE need no more than the token."""

    def bearer_token(self, request: Request, token: str) -> BearerToken | None:
        if request.method in ("GET", "HEAD"):
            return selectors.subscription_bearer_token(token=token)
        return super().bearer_token(request, token)


def token_subscription(request: Request) -> selectors.SubscriptionState | None:
    """The subscription SubscriptionTokenAuthentication read with the request's token."""
    credentials = request.auth
    if not isinstance(credentials, selectors.SubscriptionBearerToken):
        raise TypeError("SubscriptionTokenAuthentication did not authenticate this request")
    return credentials.subscription


class SubscriptionView(JsonAPIView):
    """A site's subscription: where Real Geeks sends PieSync its `created` and `updated` leads."""

    authentication_classes = [SubscriptionTokenAuthentication]
    permission_classes = [PartnerCanReachSite]
    required_scope = "leadrouter:connect"
    # The contract's words exactly: {"error": "Invalid JSON body"}, "Invalid fields".
    error_reasons = False

    @extend_schema(
        operation_id="subscription_get",
        summary="Get the site's subscription",
        parameters=[SITE_UUID],
        responses={
            200: SubscriptionStateSerializer,
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: OpenApiResponse(
                ErrorSerializer,
                description="There is no subscription for this site, or the site does not exist.",
                examples=[
                    OpenApiExample("No subscription", value={"error": "Subscription not found"}),
                    OpenApiExample("No site", value={"error": "Site not found"}),
                ],
            ),
            409: error(
                "Several subscriptions for this site. Cannot happen: the database allows one.",
                "Multiple subscriptions found",
            ),
            500: OpenApiResponse(
                ErrorSerializer,
                description=(
                    "Unknown server error, or the stored secret cannot be decrypted (PUT the "
                    "subscription again to replace it)."
                ),
                examples=[
                    OpenApiExample("Unknown", value={"error": "Internal server error"}),
                    OpenApiExample("Secret unavailable", value=SecretUnreadable().as_body()),
                ],
            ),
        },
    )
    def get(self, request: Request, site_uuid: str) -> Response:
        # PartnerCanReachSite accepted the path's site: the token's, whose subscription
        # was read with the token.
        subscription = token_subscription(request)
        if subscription is None:
            raise NotFound("Subscription not found")
        return Response(subscription_state(subscription))

    @extend_schema(
        operation_id="subscription_put",
        summary="Create or replace the site's subscription",
        parameters=[SITE_UUID],
        request=SubscriptionSerializer,
        responses={
            200: SubscriptionStateSerializer,
            400: error("The body is not a JSON object.", "Invalid JSON body"),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: SITE_NOT_FOUND,
            413: error("The body is larger than the limit.", "Request body too large"),
            422: OpenApiResponse(
                FieldErrorsSerializer,
                description="Validation failed in at least one field.",
                examples=[
                    OpenApiExample(
                        "Blank URL",
                        value={
                            "error": "Invalid fields",
                            "fields": {"url": ["This field cannot be blank."]},
                        },
                    )
                ],
            ),
            500: SERVER_ERROR,
        },
    )
    def put(self, request: Request, site_uuid: str) -> Response:
        fields = validated(SubscriptionSerializer(data=json_object(request))).validated_data
        services.subscription_put(
            site=partner_site(request),
            application=bearer_application(request),
            url=fields["url"],
            secret=fields["secret"],
        )
        # What a GET now answers (a PUT reactivates), without decrypting what was just
        # encrypted.
        return Response({"url": fields["url"], "secret": fields["secret"]})

    @extend_schema(
        operation_id="subscription_delete",
        summary="Delete the site's subscription (does nothing if there is none)",
        parameters=[SITE_UUID],
        responses={
            204: None,
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: SITE_NOT_FOUND,
            500: SERVER_ERROR,
        },
    )
    def delete(self, request: Request, site_uuid: str) -> Response:
        services.subscription_delete(
            site=partner_site(request), application=bearer_application(request)
        )
        return Response(status=204)
