"""Evidence API shapes."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, computed_field

from kit.validation import Input


class Evidence(Input):
    """A photo or document uploaded to `POST /v1/evidence` first, cited by its hash (a hash
    never uploaded is refused, naming it)."""

    sha256: str = Field(pattern="^[0-9a-f]{64}$")
    name: str = Field(min_length=1, max_length=200)


class EvidenceOut(BaseModel):
    """A stored evidence file: what its bytes are, not what anyone called it."""

    model_config = ConfigDict(from_attributes=True)

    sha256: str = Field(description="Hex SHA-256 of the bytes: the file's name everywhere")
    media_type: str = Field(description="Judged from the bytes: JPEG, PNG, WebP, HEIC or PDF")
    size: int = Field(description="Bytes")
    created_at: datetime = Field(description="When it was first stored")

    @computed_field(description="Where to fetch it")  # type: ignore[prop-decorator]
    @property
    def url(self) -> str:
        return f"/v1/evidence/{self.sha256}"
