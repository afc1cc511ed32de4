"""OpenAPI generation: every operation documents its error responses and path parameters."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as BaseAutoSchema
from drf_spectacular.utils import OpenApiParameter

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
PATH_PARAMETERS = {
    "environment_key": (str, "The environment's key."),
    "experiment_pk": (int, "The experiment's id."),
    "key": (str, "The environment's key."),
}


class AutoSchema(BaseAutoSchema):
    def get_override_parameters(self) -> list:
        parameters = list(super().get_override_parameters())
        for name, (kind, description) in PATH_PARAMETERS.items():
            if "{" + name + "}" in self.path:
                parameters.append(
                    OpenApiParameter(name, kind, OpenApiParameter.PATH, description=description)
                )
        return parameters

    def _get_response_bodies(self, direction: str = "response") -> dict:
        responses = super()._get_response_bodies(direction)
        codes = ERRORS.items()
        if self.method == "GET":
            codes = [(c, d) for c, d in codes if c != "400" or self.view.action == "results"]
        for code, description in codes:
            responses.setdefault(
                code,
                {
                    "content": {"application/json": {"schema": ERROR_BODY}},
                    "description": description,
                },
            )
        return responses
