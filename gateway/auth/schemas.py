"""OAuth 2 bodies: errors (RFC 6749 §5.2), introspection (RFC 7662), metadata (RFC 8414)."""

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


class ServerMetadataOut(BaseModel):
    """RFC 8414 authorization server metadata."""

    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    scopes_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    revocation_endpoint: str
    revocation_endpoint_auth_methods_supported: list[str]
    introspection_endpoint: str
    introspection_endpoint_auth_methods_supported: list[str]
    service_documentation: str
