"""PKCE policy, referenced from settings (so no model import at module level)."""


def pkce_required(client_id: str) -> bool:
    """Mandatory for public clients only (RFC 9700 §2.1.1); S256 is honoured whenever sent."""
    from .models import Application

    return Application.objects.filter(client_id=client_id, client_type="public").exists()
