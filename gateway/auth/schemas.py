"""OAuth 2 bodies: errors (RFC 6749 §5.2)."""

from pydantic import BaseModel


class OAuthErrorOut(BaseModel):
    """RFC 6749 §5.2 error response (`application/json`, not a problem)."""

    error: str
    error_description: str
