"""ePing import endpoints (WTO/TBT 通报导入): `/v1/bulletins/imports`."""

from kit import feed_imports
from kit.auth import require
from kit.observability import UploadRoute
from services.notify.feeds.models import FeedImport, FeedImportOutcome
from services.notify.feeds.service import FEED

UPLOAD = UploadRoute("/v1/bulletins/imports")  # spreadsheets, as multipart forms

router = feed_imports.router(
    FEED,
    prefix="/v1/bulletins/imports",
    tag="bulletins",
    title="a WTO ePing notifications export as TBT bulletins (WTO/TBT 通报导入)",
    job_model=FeedImport,
    outcome_model=FeedImportOutcome,
    reader=require("notify:read"),
    writer=require("admin"),  # the zone office, as for a bulletin posted by hand
)
