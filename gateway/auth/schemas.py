"""OAuth 2 bodies: errors (RFC 6749 §5.2), introspection (RFC 7662)."""

from pydantic import BaseModel, ConfigDict


class OAuthErrorOut(BaseModel):
    """RFC 6749 §5.2 error response (`application/json`, not a problem)."""

    error: str
    error_description: str


class IntrospectionOut(BaseModel):
    """RFC 7662 §2.2: `active` alone when the token is not honoured (revoked, expired, not
    ours, its client or user disabled); else its claims."""

    model_config = ConfigDict(extra="allow")

    active: bool
    scope: str | None = None
    client_id: str | None = None
    username: str | None = None
    token_type: str | None = None
    exp: int | None = None
    iat: int | None = None
    nbf: int | None = None
    sub: str | None = None
    aud: str | None = None
    iss: str | None = None
    jti: str | None = None
