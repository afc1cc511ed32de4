"""OpenAPI generation: every operation documents its error responses and path parameters."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter

from liftlab.analysis import definition
from liftlab.api.scoping import EnvironmentScopedMixin
from liftlab.api.validators import StrictFieldsMixin

ERROR_BODY = {
    "type": "object",
    "description": "`detail` for the request as a whole, or one entry per offending field "
    "(dotted paths such as `definition.filters.0.op`) with the reasons.",
    "additionalProperties": True,
}
ERRORS = {
    "400": "Invalid input: the body names each offending field and the reason.",
    "401": "Not signed in (send `Authorization: Token <token>`).",
    "403": "Not allowed: not an admin of the environment, or experimentation is disabled there.",
    "404": "No such environment (or you are not a member), experiment, metric or member.",
}
# What any change may also answer: a concurrent change won (409), the database or the event
# store is unavailable (503), the body is over the size limit (413).
WRITE_ERRORS = {
    "409": "A concurrent change conflicts with this request, or the current state forbids it; "
    "reload and retry.",
    "503": "A backing service (the database or the event store) is busy or unavailable; "
    "retry later.",
}
BODY_ERRORS = {"413": "The request body is larger than the limit."}
READ_ERRORS = {"503": "The event store is unavailable; retry later."}
PATH_PARAMETERS = {
    "environment_key": (str, "The environment's key."),
    "experiment_pk": (int, "The experiment's id."),
    "key": (str, "The environment's key."),
}


class NumberFieldExtension(OpenApiSerializerFieldExtension):
    """``NumberField``'s bounds, exclusive ones included (OpenAPI 3.1 numbers)."""

    target_class = "liftlab.api.validators.NumberField"

    def map_serializer_field(self, auto_schema, direction) -> dict:
        field = self.target
        schema: dict = {"type": "number", "format": "double"}
        bounds = {
            "minimum": field.minimum,
            "maximum": field.maximum,
            "exclusiveMinimum": field.exclusive_minimum,
            "exclusiveMaximum": field.exclusive_maximum,
        }
        schema.update({key: value for key, value in bounds.items() if value is not None})
        return schema


class DefinitionFieldExtension(OpenApiSerializerFieldExtension):
    """A metric's ``definition``: the JSON Schema of every version it may have, not a free object.

    Its parts become components named ``Definition…`` (``DefinitionWindow``): the result
    document has a ``Window`` of its own, and a component name holds one schema only.
    """

    target_class = "liftlab.experiments.serializers.DefinitionField"

    def map_serializer_field(self, auto_schema, direction) -> dict:
        schema = definition.json_schema()
        for name, part in schema.pop("$defs", {}).items():
            _register(auto_schema, _definition_component(name), part)
        return _register(auto_schema, "MetricDefinition", schema)


def _definition_component(name: str) -> str:
    return name if "Definition" in name else f"Definition{name}"


def _register(auto_schema, name: str, schema: dict) -> dict:
    """A component of the definition's schema, its references pointing at components; its
    ``$ref``."""
    component = ResolvedComponent(
        name=name, type=ResolvedComponent.SCHEMA, object=name, schema=_components_refs(schema)
    )
    auto_schema.registry.register_on_missing(component)
    return component.ref


def _components_refs(value: Any) -> Any:
    """pydantic's ``#/$defs/Window`` references as ``#/components/schemas/DefinitionWindow``."""
    if isinstance(value, dict):
        return {
            key: (
                "#/components/schemas/" + _definition_component(item.removeprefix("#/$defs/"))
                if key == "$ref"
                else _components_refs(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_components_refs(item) for item in value]
    return value


class AutoSchema(BaseAutoSchema):
    def get_override_parameters(self) -> list:
        parameters = list(super().get_override_parameters())
        for name, (kind, description) in PATH_PARAMETERS.items():
            if "{" + name + "}" in self.path:
                parameters.append(
                    OpenApiParameter(name, kind, OpenApiParameter.PATH, description=description)
                )
        if "{id}" in self.path and getattr(self.view, "lookup_value_regex", None) == r"\d+":
            # An integer id, not the string matching ^\d+$ that the URL pattern reads.
            parameters.append(OpenApiParameter("id", int, OpenApiParameter.PATH))
        return parameters

    def _paginated(self) -> bool:
        return getattr(self.view, "pagination_class", None) is not None

    def _map_basic_serializer(self, serializer, direction: str) -> dict:
        """Request bodies of strict serializers are closed: an unknown field is a 400."""
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictFieldsMixin):
            schema["additionalProperties"] = False
        return schema

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        codes = list(ERRORS.items())
        if self.method == "GET":
            # A GET reads no body: only query parameters (a refresh flag, a page size) are refused.
            queried = self.view.action == "results" or (self._is_list_view() and self._paginated())
            codes = [(c, d) for c, d in codes if c != "400" or queried]
        if isinstance(self.view, EnvironmentScopedMixin):
            if self.method != "GET":
                codes += WRITE_ERRORS.items()
            elif self.view.action == "results":
                codes += READ_ERRORS.items()
            if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer():
                codes += BODY_ERRORS.items()
        for code, description in codes:
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": ERROR_BODY}},
                    "description": description,
                },
            )
        return responses
