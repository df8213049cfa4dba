"""The Incoming Leads API, compatible with Real Geeks' published `leadrouter` client.

Success bodies are `{}`; every error is `{"error": "..."}` because the client reports
`response.json()["error"]`.
"""

import uuid

from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import json_body
from core.errors import DomainError
from core.negotiation import JsonOnlyNegotiation
from oauth_provider.authentication import (
    BearerTokenAuthentication,
    IncomingClientThrottle,
    InsufficientScope,
)
from oauth_provider.client_authentication import ClientCredentialsAuthentication
from oauth_provider.models import AccessToken, Application
from oauth_provider.selectors import connected_site
from sites.models import Site

from . import services
from .conf import app_settings
from .models import Role
from .serializers import (
    ActivitySerializer,
    LeadSerializer,
    PotentialSellerLeadSerializer,
    activities_of,
    validated,
)

SEND_SCOPE = "leadrouter:send"


def parse_uuid(value: str, *, not_found: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise DomainError(not_found, status=404) from None


def authorized_site(request: Request, site_uuid: str) -> Site:
    """The path's site, if these credentials may send to it; 404 otherwise."""
    requested = parse_uuid(site_uuid, not_found="Site not found")
    credentials = request.auth
    if isinstance(credentials, AccessToken):
        if SEND_SCOPE not in credentials.scope.split():
            raise InsufficientScope(SEND_SCOPE)
        if credentials.site.uuid == requested:
            return credentials.site
    elif isinstance(credentials, Application):
        site = connected_site(application=credentials, site_uuid=requested)
        if site is not None:
            return site
    raise DomainError("Site not found", status=404)


def request_body(request: Request) -> object:
    return json_body(request, max_bytes=app_settings.INCOMING_API_MAX_BODY_BYTES)


def lead_object(request: Request) -> dict[str, object]:
    body = request_body(request)
    if not isinstance(body, dict):
        raise DomainError("Invalid JSON body: expected a JSON object", status=400)
    return body


class CredentialsRequired(BasePermission):
    message = "Missing credentials"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.auth is not None


class IncomingAPIView(APIView):
    """Client id and secret (HTTP Basic), or a bearer token with `leadrouter:send`."""

    authentication_classes = [ClientCredentialsAuthentication, BearerTokenAuthentication]
    content_negotiation_class = JsonOnlyNegotiation
    permission_classes = [CredentialsRequired]
    throttle_classes = [IncomingClientThrottle]
    # Not in the PieSync partner schema (/piesync/schema/): this is Real Geeks' existing
    # Incoming Leads API, whose contract is reference §4 and the published client.
    schema = None


class LeadsView(IncomingAPIView):
    def post(self, request: Request, site_uuid: str) -> Response:
        site = authorized_site(request, site_uuid)
        lead = validated(LeadSerializer(data=lead_object(request)))
        services.lead_create(
            site=site,
            fields=lead.contact_fields(),
            lead_id=lead.validated_data.get("id"),
            activities=lead.activities_data(),
        )
        return Response({}, status=201)


class PotentialSellerLeadsView(IncomingAPIView):
    def post(self, request: Request, site_uuid: str) -> Response:
        site = authorized_site(request, site_uuid)
        lead = validated(PotentialSellerLeadSerializer(data=lead_object(request)))
        services.lead_create(
            site=site,
            fields={**lead.contact_fields(), "role": Role.POTENTIAL_SELLER},
            lead_id=lead.validated_data.get("id"),
            activities=lead.activities_data(),
        )
        return Response({}, status=201)


class LeadView(IncomingAPIView):
    def patch(self, request: Request, site_uuid: str, lead_id: str) -> Response:
        site = authorized_site(request, site_uuid)
        lead_uuid = parse_uuid(lead_id, not_found="Lead not found")
        changes = validated(LeadSerializer(data=lead_object(request), partial=True))
        services.lead_update(
            site=site,
            lead_id=lead_uuid,
            changes=changes.contact_fields(),
            activities=changes.activities_data(),
        )
        return Response({})


class ActivitiesView(IncomingAPIView):
    def post(self, request: Request, site_uuid: str, lead_id: str) -> Response:
        site = authorized_site(request, site_uuid)
        lead_uuid = parse_uuid(lead_id, not_found="Lead not found")
        body = request_body(request)
        if not isinstance(body, list):
            raise DomainError("Invalid JSON body: expected a JSON array of activities", status=400)
        activities = validated(ActivitySerializer(data=body, many=True))
        services.activities_add(
            site=site,
            lead_id=lead_uuid,
            activities=activities_of(activities.validated_data),
        )
        return Response({}, status=201)
