"""Inspector roster import endpoints (检查员名录导入): `/v1/inspectors/imports`."""

from kit import feed_imports
from kit.auth import require
from kit.observability import UploadRoute
from services.inspection.inspector_imports.models import InspectorImport, InspectorImportOutcome
from services.inspection.inspector_imports.service import FEED

UPLOAD = UploadRoute("/v1/inspectors/imports")  # spreadsheets, as multipart forms

router = feed_imports.router(
    FEED,
    prefix="/v1/inspectors/imports",
    tag="inspectors",
    title="an inspector roster into the pool (检查员名录导入)",
    job_model=InspectorImport,
    outcome_model=InspectorImportOutcome,
    reader=require("inspection:read"),
    writer=require("inspection:write"),
    description=(
        "Import an agency's roster of officers within the request (201, `Location` the job, "
        "status `done`): each row through the same rules as `POST /v1/inspectors` (a member "
        "agency; an agency imports its own officers, the office any agency's). Columns by "
        'heading (执法证号, 姓名, 部门, 单位, 专业领域, 是否有效; docs/api.md, "Imports"); '
        "a blank 部门 is the importing agency. Idempotent by badge number: a known officer "
        "whose given cells differ is updated (`changed` names the fields; blank cells leave "
        "a field as it is), the same roster again changes nothing; a dry run writes nothing "
        "and says what would happen."
    ),
)
