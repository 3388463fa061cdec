"""Rules of the JSON API: a submission as the form keeps it, and the verdict of its
version's JSON Schema (a validator that is not the rule engine), in German."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from rathaus.platform.kernel.procedures import Definition, Result
from rathaus.platform.kernel.procedures.engine import clean, path_key
from rathaus.platform.kernel.procedures.schema import submission_schema

MSG_UNKNOWN_FIELD = "Dieses Feld gehört nicht zu diesem Antrag."
MSG_STRUCTURE = "Dieser Wert hat nicht die erwartete Form."
_validators: dict[tuple[str, str, str], Draft202012Validator] = {}


def validator(definition: Definition, base_url: str) -> Draft202012Validator:
    """The JSON Schema validator of a version, built once per process."""
    key = (definition.key, definition.digest, base_url)
    if key not in _validators:
        _validators[key] = Draft202012Validator(submission_schema(definition, base_url))
    return _validators[key]


def cleaned(value: Any) -> Any:
    """Strings as the form keeps them (spaces collapsed, control characters removed), so
    the schema judges the same value the engine does."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [cleaned(v) for v in value]
    if isinstance(value, dict):
        return {k: cleaned(v) for k, v in value.items()}
    return value


def shown_only(definition: Definition, angaben: dict[str, Any], result: Result) -> dict[str, Any]:
    """The values of the fields the engine shows for these data: a value sent for a field a
    condition hides is ignored, as the HTML form, which does not show it, never posts it."""
    out: dict[str, Any] = {}
    for name, value in angaben.items():
        node = definition.nodes.get(name)
        if node is None:
            out[name] = value  # unknown: the schema says so
        elif (name,) not in result.visible:
            continue
        elif node.repeats and isinstance(value, list):
            out[name] = [
                {k: v for k, v in row.items() if k not in definition.nodes or (name, i, k) in result.visible}
                if isinstance(row, dict)
                else row
                for i, row in enumerate(value)
            ]
        else:
            out[name] = value
    return out


def verdict(definition: Definition, body: dict[str, Any], result: Result, base_url: str) -> dict[str, str]:
    """What the API answers, field path -> German message: the JSON Schema on what is shown,
    said with the form's own message where the engine has one."""
    shown = {**body, "angaben": shown_only(definition, body.get("angaben", {}), result)}
    errors = schema_errors(definition, shown, base_url)
    errors.update({path_key(path): message for path, message in result.errors.items()})
    return errors


def schema_errors(definition: Definition, body: dict[str, Any], base_url: str) -> dict[str, str]:
    """Field path ("hunde[1].rasse") -> German message, for everything the schema refuses."""
    errors: dict[str, str] = {}
    for error in validator(definition, base_url).iter_errors(body):
        key, message = german(definition, error)
        errors.setdefault(key, message)
    return errors


def german(definition: Definition, error: ValidationError) -> tuple[str, str]:
    path = list(error.absolute_path)
    if path and path[0] == "angaben":
        path = path[1:]
    if error.validator == "required":
        given = error.instance if isinstance(error.instance, dict) else {}
        missing = [p for p in error.validator_value if p not in given]
        name = missing[0] if missing else ""
        node = definition.nodes.get(name)
        message = f"Bitte geben Sie „{node.element.label}“ an." if node else "Diese Angabe fehlt."
        return path_key((*path, name)), message
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return path_key(tuple([*path, extra[0]] if extra else path)), MSG_UNKNOWN_FIELD
    name = next((p for p in reversed(path) if isinstance(p, str)), "")
    node = definition.nodes.get(name)
    label = node.element.label if node else name
    messages = {
        "type": f"Bei „{label}“ hat der Wert nicht die erwartete Art (Text, Zahl, ja/nein oder Liste).",
        "enum": f"Bitte wählen Sie bei „{label}“ eine der Möglichkeiten.",
        "pattern": node.element.pattern_message if node else MSG_STRUCTURE,
        "maxLength": f"„{label}“ ist zu lang.",
        "minLength": f"„{label}“ ist zu kurz.",
        "maxItems": f"Bei „{label}“ sind höchstens {error.validator_value} Angaben möglich.",
        "minimum": f"„{label}“ ist zu klein.",
        "maximum": f"„{label}“ ist zu groß.",
        "const": "Diese Angabe passt nicht zur Leistung.",
    }
    return path_key(tuple(path)) or "antrag", messages.get(str(error.validator), MSG_STRUCTURE)
