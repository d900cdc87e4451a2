"""Signing-key API shapes: public facts about each key, never its private half."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

KeyState = Literal["current", "next", "published", "retired"]


class SigningKeyRotateIn(BaseModel):
    """How to rotate."""

    revoke_previous: bool = Field(
        default=False,
        description=(
            "The keys in use leaked: make the new key current at once and retire the others "
            "now, so every token they signed stops working (services within their JWKS "
            "refresh, 5 minutes at most). Default: the new key is current in 15 s and the "
            "others stay published as long as what they signed can live."
        ),
    )


class SigningKeyOut(BaseModel):
    """A key the gateway signs (or signed) tokens and gateway assertions with."""

    kid: str = Field(description="Key id, as in the JWKS and each token's header")
    state: KeyState = Field(
        description=(
            "`current`: signs now; `next`: published, signs from `active_from`; `published`: "
            "replaced, still verifies what it signed until `retired_at`; `retired`: gone from "
            "the JWKS"
        )
    )
    created_at: datetime
    active_from: datetime
    retired_at: datetime | None
    created_by: str | None = Field(
        description="Who rotated it in (`configured`: GATEWAY_SIGNING_KEY_PEM; `generated`: "
        "the first start without one)"
    )
