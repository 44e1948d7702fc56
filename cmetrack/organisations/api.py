from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from .models import Organisation, OrganisationKind
from .selectors import organisation_list

router = Router(tags=["Organisations"])


class OrganisationOut(Schema):
    id: int
    name: str
    kind: str
    urn: str | None
    laestab: str
    phase: str
    school_type: str
    sector: str
    local_authority_code: str | None

    @staticmethod
    def resolve_local_authority_code(obj: Organisation) -> str | None:
        return obj.local_authority.code if obj.local_authority else None


@router.get(
    "/organisations",
    response=list[OrganisationOut],
    summary="List organisations",
    operation_id="organisation_list",
)
@paginate(LimitOffsetPagination)
def organisations(
    request: HttpRequest, kind: OrganisationKind | None = None
) -> QuerySet[Organisation]:
    return organisation_list(kind=kind)
