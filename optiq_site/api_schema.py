"""The API's OpenAPI schema generator: drf-spectacular's AutoSchema, with the rules DRF applies
to request fields that drf-spectacular leaves out, so that a request the schema allows is one
the API accepts (the fuzzer in tests/fuzz holds the two together):

- a decimal sent as a string needs a digit (drf-spectacular's pattern lets "", "." and "-"
  through), has no sign where the field's minimum is 0, and is above 0 where the minimum is;
- a text field never holds a NUL character (DRF refuses them: PostgreSQL cannot store them),
  and one that may not be blank needs a character other than white space (DRF trims it first).

Rules across fields (one of two fields required, say) are declared by the serializer itself,
in `schema_rules` (see `SchemaRules`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import force_instance
from rest_framework import serializers

# At least one character and no NUL: where a blank value is allowed, drf-spectacular adds the empty
# string as a second `oneOf` branch, which this one must not match too.
NOT_EMPTY = "^[^\\u0000]+$"
NOT_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def decimal_pattern(*, max_digits: int | None, decimal_places: int | None, min_value: Any = None) -> str:
    """The strings DRF's DecimalField accepts, as a regular expression (a subset: no exponent,
    no leading "+")."""
    places = decimal_places or 0
    whole = None if max_digits is None else max_digits - places
    whole_digits = "\\d+" if whole is None else f"\\d{{1,{whole}}}"
    fraction = f"(?:\\.\\d{{0,{places}}})?" if places else ""
    only_fraction = f"|\\.\\d{{1,{places}}}" if places else ""
    if min_value is not None and Decimal(min_value) > 0 and Decimal(min_value) <= Decimal(1).scaleb(-places):
        # Above zero: a non-zero whole part, or a zero one and a fraction with a non-zero digit.
        rest = "\\d*" if whole is None else f"\\d{{0,{whole - 1}}}"
        nonzero_fraction = "|".join(f"0{{{i}}}[1-9]\\d{{0,{places - 1 - i}}}" for i in range(places))
        number = f"0?[1-9]{rest}{fraction}" + (f"|0?\\.(?:{nonzero_fraction})" if places else "")
        return f"^(?:{number})$"
    sign = "" if min_value is not None and Decimal(min_value) >= 0 else "-?"
    return f"^{sign}(?:{whole_digits}{fraction}{only_fraction})$"


class ApiAutoSchema(AutoSchema):
    def _get_filter_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_filter_parameters()
        for parameter in parameters:
            # django-filter reads an empty value ("?replacement=") as no filter: the empty string
            # is one of a choice filter's values.
            schema = parameter.get("schema", {})
            if parameter.get("in") == "query" and schema.get("type") == "string" and "" not in schema.get("enum", [""]):
                schema["enum"] = [*schema["enum"], ""]
        return parameters

    def _get_request_for_media_type(self, serializer: Any, direction: str = "request") -> tuple[Any, bool]:
        schema, required = super()._get_request_for_media_type(serializer, direction)
        # A body whose rules require a field (one of two, say) cannot be left out either.
        return schema, required or isinstance(force_instance(serializer), SchemaRules)

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema: dict[str, Any] = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or "$ref" in schema or "allOf" in schema:
            return schema
        if isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            schema["pattern"] = decimal_pattern(
                max_digits=field.max_digits, decimal_places=field.decimal_places, min_value=field.min_value
            )
        elif (
            isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and not {"pattern", "format"} & set(schema)
        ):
            schema["pattern"] = NOT_BLANK if field.trim_whitespace and not field.allow_blank else NOT_EMPTY
        return schema


# A serializer's rules across its fields, as JSON Schema keywords merged into its request schema:
# `schema_rules = {"anyOf": [{"required": ["product"]}, {"required": ["sku"]}]}`. (A comment, not
# a docstring: drf-spectacular would describe every such serializer with it.)
class SchemaRules:
    schema_rules: ClassVar[dict[str, Any]] = {}


class SchemaRulesExtension(OpenApiSerializerExtension):  # type: ignore[no-untyped-call]
    target_class = SchemaRules
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema.update(self.target.schema_rules)
        return schema
