"""Safety Gate import endpoints (欧盟安全门通报导入): `/v1/risk/signals/imports`."""

from kit import feed_imports
from kit.auth import require
from kit.observability import UploadRoute
from services.inspection.feeds.models import FeedImport, FeedImportOutcome
from services.inspection.feeds.service import FEED

UPLOAD = UploadRoute("/v1/risk/signals/imports")  # spreadsheets, as multipart forms

router = feed_imports.router(
    FEED,
    prefix="/v1/risk/signals/imports",
    tag="risk",
    title="an EU Safety Gate alerts export as risk signals (欧盟安全门通报导入)",
    job_model=FeedImport,
    outcome_model=FeedImportOutcome,
    reader=require("inspection:read"),
    writer=require("inspection:write"),
)
