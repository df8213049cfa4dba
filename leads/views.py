"""The Incoming Leads API, compatible with Real Geeks' published `leadrouter` client.

Success bodies are `{}`; every error is `{"error": "..."}` because the client reports
`response.json()["error"]`.
"""

import uuid

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.exceptions import APIException, Throttled
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import JsonAPIView, json_object, validated
from core.errors import Conflict, DomainError, InvalidJson, NotFound
from oauth_provider.authentication import BearerTokenAuthentication, IncomingClientThrottle
from oauth_provider.client_authentication import ClientCredentialsAuthentication
from oauth_provider.permissions import PartnerCanReachSite, partner_site
from ratelimits.limits import PerClientThrottle
from ratelimits.services import OverLimit

from . import services
from .conf import app_settings
from .models import Role
from .serializers import ActivitySerializer, LeadInput, activities_of, lead_input


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
        self.count_request(request)
        super().check_permissions(request)

    def check_throttles(self, request: Request) -> None:
        """Checked before the permissions (check_permissions)."""

    def count_request(self, request: Request) -> None:
        """Throttled (429) if this takes the client past its allowance."""
        super().check_throttles(request)


# What a request can be refused with before its work: the ones that are counted then.
_REFUSALS = (APIException, DomainError, Http404, PermissionDenied)


class LeadCreateView(IncomingAPIView):
    """A new lead's request is counted in the statement that writes the lead, a round
    trip less on the API's busiest request (leads.statements); past the client's allowance
    that statement writes nothing else. A request refused before it is counted when
    refused (`handle_exception`), and past the allowance answered 429 all the same: the
    answers are those of counting first."""

    counted = False

    def count_request(self, request: Request) -> None:
        """Left to the lead's statement, or to handle_exception."""

    def handle_exception(self, exc: Exception) -> Response:
        if not self.counted and isinstance(exc, _REFUSALS) and not isinstance(exc, Throttled):
            self.counted = True
            try:
                super().count_request(self.request)
            except Throttled as throttled:
                exc = throttled
        return super().handle_exception(exc)

    def create(self, request: Request, *, lead: LeadInput, fields: dict[str, str]) -> Response:
        """The lead, the request counted by its statement; a refusal before that statement
        (the activities' cap) is left to handle_exception to count."""
        [throttle] = self.get_throttles()
        if not isinstance(throttle, PerClientThrottle):
            raise TypeError("A new lead's statement counts a PerClientThrottle's limits")
        try:
            services.lead_create(
                site=partner_site(request),
                fields=fields,
                lead_id=lead.id,
                activities=lead.activities,
                rate_limit=throttle.hit(request),
            )
        except OverLimit as over:
            self.counted = True
            raise Throttled(wait=over.retry_after) from None
        except Conflict:
            self.counted = True  # the statement ran, and found the id taken
            raise
        self.counted = True
        return Response({}, status=201)


class LeadsView(LeadCreateView):
    def post(self, request: Request, site_uuid: str) -> Response:
        lead = lead_input(json_object(request))
        return self.create(request, lead=lead, fields=lead.contact_fields)


class PotentialSellerLeadsView(LeadCreateView):
    def post(self, request: Request, site_uuid: str) -> Response:
        lead = lead_input(json_object(request), potential_seller=True)
        return self.create(
            request, lead=lead, fields={**lead.contact_fields, "role": Role.POTENTIAL_SELLER}
        )


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
