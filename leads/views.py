"""The Incoming Leads API, compatible with Real Geeks' published `leadrouter` client.

Success bodies are `{}`; every error is `{"error": "..."}` because the client reports
`response.json()["error"]`.
"""

import uuid

from rest_framework.request import Request
from rest_framework.response import Response

from core.api import JsonAPIView, json_object, validated
from core.errors import InvalidJson, NotFound
from oauth_provider.authentication import BearerTokenAuthentication, IncomingClientThrottle
from oauth_provider.client_authentication import ClientCredentialsAuthentication
from oauth_provider.permissions import PartnerCanReachSite, partner_site

from . import services
from .conf import app_settings
from .models import Role
from .serializers import ActivitySerializer, activities_of, lead_input


def lead_uuid(lead_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(lead_id)
    except ValueError:
        raise NotFound("Lead not found") from None


class IncomingAPIView(JsonAPIView):
    """Client id and secret (HTTP Basic) for a site the client is connected to, or a
    bearer token with `leadrouter:send` for its own site."""

    authentication_classes = [ClientCredentialsAuthentication, BearerTokenAuthentication]
    permission_classes = [PartnerCanReachSite]
    required_scope = "leadrouter:send"
    throttle_classes = [IncomingClientThrottle]
    # Not in the PieSync partner schema (/piesync/schema/): this is Real Geeks' existing
    # Incoming Leads API, whose contract is reference §4 and the published client.
    schema = None

    @property
    def max_body_bytes(self) -> int:
        return app_settings.INCOMING_API_MAX_BODY_BYTES

    def check_permissions(self, request: Request) -> None:
        """The client's allowance first: every request with valid credentials counts,
        also one refused for its site, and a client over it learns nothing of sites."""
        super().check_throttles(request)
        super().check_permissions(request)

    def check_throttles(self, request: Request) -> None:
        """Checked before the permissions (check_permissions)."""


class LeadsView(IncomingAPIView):
    def post(self, request: Request, site_uuid: str) -> Response:
        lead = lead_input(json_object(request))
        services.lead_create(
            site=partner_site(request),
            fields=lead.contact_fields,
            lead_id=lead.id,
            activities=lead.activities,
        )
        return Response({}, status=201)


class PotentialSellerLeadsView(IncomingAPIView):
    def post(self, request: Request, site_uuid: str) -> Response:
        lead = lead_input(json_object(request), potential_seller=True)
        services.lead_create(
            site=partner_site(request),
            fields={**lead.contact_fields, "role": Role.POTENTIAL_SELLER},
            lead_id=lead.id,
            activities=lead.activities,
        )
        return Response({}, status=201)


class LeadView(IncomingAPIView):
    def patch(self, request: Request, site_uuid: str, lead_id: str) -> Response:
        lead = lead_uuid(lead_id)
        changes = lead_input(json_object(request), partial=True)
        services.lead_update(
            site=partner_site(request),
            lead_id=lead,
            changes=changes.contact_fields,
            activities=changes.activities,
        )
        return Response({})


class ActivitiesView(IncomingAPIView):
    def post(self, request: Request, site_uuid: str, lead_id: str) -> Response:
        lead = lead_uuid(lead_id)
        body: object = request.data
        if not isinstance(body, list):
            raise InvalidJson("expected a JSON array of activities")
        activities = validated(ActivitySerializer(data=body, many=True))
        services.activities_add(
            site=partner_site(request),
            lead_id=lead,
            activities=activities_of(activities.validated_data),
        )
        return Response({}, status=201)
