"""Registry service: agencies, zones, enterprises, surveys, memberships, commitments,
batches and lineage, and the zone programme (leadership group, meetings, standards …)."""

from kit.app import Periodic, create_service_app
from services.registry.agencies.router import router as agencies_router
from services.registry.batches.router import router as batches_router
from services.registry.config import settings
from services.registry.consumers import CONSUMERS
from services.registry.enterprises.router import router as enterprises_router
from services.registry.imports.router import UPLOAD as IMPORTS_UPLOAD
from services.registry.imports.router import router as imports_router
from services.registry.imports.service import process_jobs
from services.registry.memberships.router import router as memberships_router
from services.registry.programme.acceptance.router import router as acceptance_router
from services.registry.programme.honours.router import router as honours_router
from services.registry.programme.leadership.router import routers as leadership_routers
from services.registry.programme.leadership.service import announce_overdue
from services.registry.programme.responsibilities.router import (
    router as responsibilities_router,
)
from services.registry.programme.standards.router import router as standards_router
from services.registry.programme.targets.router import router as targets_router
from services.registry.programme.targets.service import announce_overdue_zones
from services.registry.programme.trainings.router import router as trainings_router
from services.registry.zones.router import public_router
from services.registry.zones.router import router as zones_router

app = create_service_app(
    settings,
    title="Registry service (登记服务)",
    description=(
        "Agencies, demonstration zones (示范区) and their lifecycle, enterprises keyed by USCC "
        "with yearly surveys, zone membership (准入/退出), integrity commitments (质量诚信承诺书), and export batches "
        "with their lineage and trace (批次管理与追溯); the programme records of the guarantee system "
        "(保障体系): leadership group, joint meetings and action items, target assessment, "
        "responsibilities, alliance standards, trainings and honours."
    ),
    routers=[
        agencies_router,
        zones_router,
        enterprises_router,
        memberships_router,
        imports_router,
        batches_router,
        *leadership_routers,
        responsibilities_router,
        standards_router,
        trainings_router,
        honours_router,
        acceptance_router,
        targets_router,
        public_router,
    ],
    consumers=CONSUMERS,
    upload_routes=[IMPORTS_UPLOAD],
    periodic=[
        Periodic("action-item-overdue", announce_overdue, settings.overdue_check_s),
        Periodic("zone-overdue", announce_overdue_zones, settings.overdue_check_s),
        Periodic("imports", process_jobs, settings.import_poll_s),
    ],
)
