from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches no database; also the bench baseline."""
    return JsonResponse({"status": "ok"})
