"""What DRF answers to OPTIONS (REST_FRAMEWORK's DEFAULT_METADATA_CLASS).

Its own module: DRF imports it while defining APIView, so it must not import DRF's views.
"""

from typing import TYPE_CHECKING

from rest_framework.metadata import BaseMetadata
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView


class AllowHeaderOnlyMetadata(BaseMetadata):
    """OPTIONS is answered 200 with the `Allow` header DRF sets and no content (RFC 9110
    §9.3.7). Without a metadata class DRF answers OPTIONS 405 while listing it in `Allow`;
    DRF's SimpleMetadata would describe the views' internals."""

    def determine_metadata(self, request: Request, view: "APIView") -> None:
        return None
