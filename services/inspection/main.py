"""Inspection service: inspectors, checklists, double-random campaigns, tasks, sync, CAPAs."""

from kit.app import Periodic, create_service_app
from services.inspection.analysis.router import public_router as public_analysis_router
from services.inspection.analysis.router import router as analysis_router
from services.inspection.campaigns.router import router as campaigns_router
from services.inspection.capas.router import router as capas_router
from services.inspection.capas.service import announce_overdue
from services.inspection.checklists.router import router as checklists_router
from services.inspection.config import settings
from services.inspection.consumers import CONSUMERS
from services.inspection.directory.router import router as directory_router
from services.inspection.evidence.router import UPLOAD as EVIDENCE_UPLOAD
from services.inspection.evidence.router import router as evidence_router
from services.inspection.feeds.router import UPLOAD as FEEDS_UPLOAD
from services.inspection.feeds.router import router as feeds_router
from services.inspection.inspector_imports.router import UPLOAD as INSPECTORS_UPLOAD
from services.inspection.inspector_imports.router import router as inspector_imports_router
from services.inspection.inspectors.router import router as inspectors_router
from services.inspection.labs.router import labs_router, requests_router
from services.inspection.public.router import router as public_router
from services.inspection.risk.router import router as risk_router
from services.inspection.sync.router import router as sync_router
from services.inspection.tasks.router import router as tasks_router

app = create_service_app(
    settings,
    title="Inspection service (监督检查服务)",
    description=(
        "Inspector pool, checklists (一单), verifiable double-random campaigns (双随机、一公开) "
        "with conflict-free assignment and joint enforcement (联合执法), field tasks with "
        "offline sync, corrective actions (检查、纠正与预防措施), risk early warning, the public "
        "testing platform (公共检测服务平台) and published quality analysis (质量分析评价和权威发布)."
    ),
    routers=[
        directory_router,
        inspector_imports_router,  # before inspectors' /{inspector_id}
        inspectors_router,
        checklists_router,
        campaigns_router,
        tasks_router,
        sync_router,
        capas_router,
        feeds_router,  # before risk's /signals/{signal_id}
        evidence_router,
        risk_router,
        labs_router,
        requests_router,
        analysis_router,
        public_router,
        public_analysis_router,
    ],
    consumers=CONSUMERS,
    upload_routes=[EVIDENCE_UPLOAD, FEEDS_UPLOAD, INSPECTORS_UPLOAD],
    periodic=[Periodic("capa-overdue", announce_overdue, settings.capa_check_s)],
)
