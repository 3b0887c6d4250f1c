"""``GET /v1/stages``: the stages this server runs, what each needs, and its options."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.stages.graph import DEFAULT_STAGES, STAGES

router = APIRouter(prefix="/v1/stages", tags=["stages"])


class StageOption(BaseModel):
    """One option of a stage: its name, its type as the stage declares it, and its default."""

    name: str
    type: str
    default: object = None


class StageViewInfo(BaseModel):
    """Which section of the web page shows the stage's results, and from which of its files."""

    section: str
    data: str | None
    track: str | None
    captions: str | None = None


class StageInfo(BaseModel):
    """A stage: ``needs`` run first when it is requested; ``uses`` run first when requested too."""

    name: str
    label: str
    description: str
    needs: list[str]
    uses: list[str]
    options: list[StageOption]
    view: StageViewInfo | None


class StageList(BaseModel):
    """Every stage in a valid run order, and the ones a request that names none runs."""

    stages: list[StageInfo]
    default: list[str]


@router.get("", summary="The stages, their dependencies and their options", operation_id="listStages",
            response_model=StageList)
async def list_stages() -> StageList:
    """Read by the web page (its stage choices) and by clients building a request."""
    return StageList(stages=[StageInfo.model_validate(s.describe()) for s in STAGES.values()],
                     default=list(DEFAULT_STAGES))
