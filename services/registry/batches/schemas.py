"""Batch, lineage-event and trace API shapes (GS1 EPCIS 2.0 in spirit, CBV vocabulary)."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kit.uscc import Uscc
from kit.validation import Country, HsCode, Input, PastDate, PastDatetime

LotNumber = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:#-]*$",
        description="Lot or batch number, unique per enterprise",
        examples=["NB-2026-0001"],
    ),
]
Quantity = Annotated[float, Field(gt=0, lt=1e15, description="Stored to 3 decimal places")]
Unit = Annotated[str, Field(min_length=1, max_length=20, examples=["pcs", "kg", "carton"])]


MAX_LINKS = 10_000  # genealogy edges one transformation may add


class LotKind(StrEnum):
    """What a lot is to its owner."""

    export = "export"  # an export batch (出口批次)
    supplier = "supplier"  # a supplier's lot received (原辅料批次)
    intermediate = "intermediate"  # a lot of the owner's own production
    shipment = "shipment"  # a shipment that aggregates lots (集装箱/货运单)


class BizStep(StrEnum):
    """CBV business steps, plus `processing` for a production step."""

    commissioning = "commissioning"
    receiving = "receiving"
    accepting = "accepting"
    processing = "processing"
    assembling = "assembling"
    inspecting = "inspecting"
    sampling = "sampling"
    packing = "packing"
    repackaging = "repackaging"
    storing = "storing"
    holding = "holding"
    loading = "loading"
    shipping = "shipping"
    transporting = "transporting"
    destroying = "destroying"
    other = "other"


class Disposition(StrEnum):
    """CBV dispositions (the state a lot was left in)."""

    active = "active"
    conformant = "conformant"
    non_conformant = "non_conformant"
    in_progress = "in_progress"
    in_transit = "in_transit"
    container_closed = "container_closed"
    recalled = "recalled"
    returned = "returned"
    destroyed = "destroyed"
    damaged = "damaged"
    expired = "expired"
    unknown = "unknown"


class BatchIn(Input):
    """A lot to record. Export batches carry the customs fields; supplier lots name the
    supplier, so other enterprises that received the same lot can be found."""

    uscc: Uscc = Field(description="The enterprise that owns the lot")
    number: LotNumber
    kind: LotKind = LotKind.export
    product: str | None = Field(default=None, min_length=1, max_length=200)
    hs_code: HsCode | None = None
    quantity: Quantity | None = None
    unit: Unit | None = None
    destination: Country | None = Field(default=None, description="Destination country")
    declaration_no: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9-]{6,40}$",
        description="Export declaration number (报关单号)",
    )
    ship_date: PastDate | None = Field(default=None, description="Not in the future")
    brand: str | None = Field(default=None, min_length=1, max_length=100)
    model: str | None = Field(default=None, min_length=1, max_length=100)
    barcode: str | None = Field(default=None, pattern=r"^\d{8,14}$", description="GTIN/EAN")
    export_value_usd: int | None = Field(default=None, ge=0, le=10**12)
    supplier_uscc: Uscc | None = None
    supplier_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The supplier's name as on its documents, for a supplier outside the zone",
    )

    @model_validator(mode="after")
    def _shape(self) -> "BatchIn":
        if self.kind == LotKind.supplier and not (self.supplier_uscc or self.supplier_name):
            raise ValueError("a supplier lot names supplier_uscc or supplier_name")
        if (self.quantity is None) != (self.unit is None):
            raise ValueError("quantity and unit go together")
        return self


class BatchOut(BaseModel):
    """A recorded lot."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    uscc: str
    number: str
    kind: LotKind
    product: str | None
    hs_code: str | None
    quantity: float | None
    unit: str | None
    destination: str | None
    declaration_no: str | None
    ship_date: date | None
    brand: str | None
    model: str | None
    barcode: str | None
    export_value_usd: int | None
    supplier_uscc: str | None
    supplier_name: str | None = Field(description="The supplier's name, as given")
    recorded_by: str
    created_at: datetime


class LotQuantity(Input):
    """A lot, by number, with the quantity that went in or came out."""

    lot: LotNumber
    quantity: Quantity | None = None
    unit: Unit | None = None


class EventBase(BaseModel):
    """Fields every lineage event has."""

    model_config = ConfigDict(extra="forbid")

    client_event_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Your own id for the event: sending it again is recognised, not stored twice",
    )
    biz_step: BizStep
    disposition: Disposition | None = None
    event_time: PastDatetime
    location: str | None = Field(
        default=None, max_length=200, description="Where: workshop, line, warehouse, port"
    )
    operator: str | None = Field(default=None, max_length=100, description="Who did it")
    details: dict[str, Any] = Field(
        default_factory=dict, max_length=50, description="Measurements, sample ids, certificates"
    )


class ObjectEventIn(EventBase):
    """Lots were commissioned, received, inspected, sampled, packed, shipped …"""

    type: Literal["object"]
    lots: list[LotNumber] = Field(min_length=1, max_length=1000)


class TransformationEventIn(EventBase):
    """Input lots were consumed to make output lots (a production step)."""

    type: Literal["transformation"]
    inputs: list[LotQuantity] = Field(min_length=1, max_length=1000)
    outputs: list[LotQuantity] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _not_itself(self) -> "TransformationEventIn":
        if len(self.inputs) * len(self.outputs) > MAX_LINKS:
            raise ValueError(f"at most {MAX_LINKS:,} input × output pairs in one event")
        same = {i.lot for i in self.inputs} & {o.lot for o in self.outputs}
        if same:
            raise ValueError(f"a lot cannot be its own input: {', '.join(sorted(same))}")
        return self


class AggregationEventIn(EventBase):
    """Child lots were packed into a parent (a shipment, a container)."""

    type: Literal["aggregation"]
    parent: LotNumber
    children: list[LotNumber] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _not_itself(self) -> "AggregationEventIn":
        if self.parent in self.children:
            raise ValueError("a lot cannot contain itself")
        return self


LotEventIn = Annotated[
    ObjectEventIn | TransformationEventIn | AggregationEventIn, Field(discriminator="type")
]


class EventLotOut(BaseModel):
    """A lot an event involves."""

    lot_id: uuid.UUID
    number: str
    role: Literal["object", "input", "output", "parent", "child"]
    quantity: float | None = None
    unit: str | None = None


class LotEventOut(BaseModel):
    """A recorded lineage event."""

    id: uuid.UUID
    uscc: str
    client_event_id: str | None
    type: Literal["object", "transformation", "aggregation"]
    biz_step: str
    disposition: str | None
    event_time: datetime
    location: str | None
    operator: str | None
    details: dict[str, Any]
    lots: list[EventLotOut]
    recorded_at: datetime


class TraceStep(BaseModel):
    """An event on a lot of the trace."""

    event_id: uuid.UUID
    type: str
    role: str
    biz_step: str
    disposition: str | None
    event_time: datetime
    location: str | None
    operator: str | None


class TraceNode(BaseModel):
    """A lot reached by the trace, with the path from the root to it."""

    lot: BatchOut
    depth: int
    path: list[str] = Field(description="Lot numbers from the root to this lot")
    via_event_id: uuid.UUID | None = Field(description="The event that links it to its parent")
    quantity: float | None = Field(description="Quantity on that link, if recorded")
    steps: list[TraceStep]


class SharedSupplierLot(BaseModel):
    """A supplier lot of the trace that other enterprises also received."""

    supplier_key: str
    number: str
    enterprise_count: int
    enterprises: list[str] = Field(
        description="USCCs of the other enterprises (empty for an enterprise's own token)"
    )
    lot_ids: list[uuid.UUID] = Field(description="Their lots (empty for an enterprise token)")


class TraceOut(BaseModel):
    """The genealogy of one lot, computed by one bounded recursive query."""

    root_id: uuid.UUID
    direction: Literal["upstream", "downstream"]
    depth: int
    truncated: bool = Field(description="True when the node limit cut the walk short")
    nodes: list[TraceNode]
    supplier_lots: list[str] = Field(description="Numbers of supplier lots reached")
    nonconformant_steps: list[TraceStep] = Field(description="Steps left non_conformant")
    destinations: list[str] = Field(description="Destination countries reached downstream")
    shared_supplier_lots: list[SharedSupplierLot] = Field(
        description="Upstream: the same supplier lots received by other enterprises"
    )
