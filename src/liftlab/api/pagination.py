"""Page-number pagination with a caller-chosen page size (bounded, and refused when not one).

DRF falls back to the default page size for ``page_size=abc`` or ``0`` without a word; here a
page size that is not a whole number from 1 to ``max_page_size`` is a 400 naming it.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 4):
            raw = "0"
        if not 1 <= int(raw) <= self.max_page_size:
            message = f"must be a whole number from 1 to {self.max_page_size}."
            raise ValidationError({self.page_size_query_param: message})
        return int(raw)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
