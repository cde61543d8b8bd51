"""The event as the API documents it: a pydantic model built from kiosk.core's `Event`.

Each field's type and bounds come from the field's wire rule (`kiosk.core.wire`), the rule
`central.validate` checks uploads with, so the published document and what the server
accepts are one definition. Uploads are judged by `central.validate` (one bad event never
sinks a batch, and each refusal says why); this model describes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, create_model

from kiosk.core.events import EVENT_FIELDS
from kiosk.core.wire import Choice, Moment, Rule, Spec, Text, Whole
from kiosk.fields import text, within


def _type(rule: Rule) -> Any:
    if isinstance(rule, Text):
        return Annotated[str, text(rule)]
    if isinstance(rule, Whole):
        return Annotated[int, within(rule)]
    if isinstance(rule, Choice):
        return rule.kinds
    if isinstance(rule, Moment):
        return Annotated[AwareDatetime, Field(json_schema_extra={"maxLength": rule.max_length})]
    raise TypeError(f"no API type for {rule!r}")


def _field(spec: Spec) -> tuple[Any, Any]:
    kind = _type(spec.rule)
    return (kind | None, None) if spec.optional else (kind, ...)


_FIELDS: dict[str, Any] = {spec.name: _field(spec) for spec in EVENT_FIELDS}

if TYPE_CHECKING:  # built at run time from the wire rules; a plain model to the type checker

    class EventIn(BaseModel):
        pass

else:
    EventIn = create_model(
        "EventIn",
        __config__=ConfigDict(extra="forbid"),
        __doc__="An event as a kiosk records it (kiosk.core.events.Event, wire form).",
        **_FIELDS,
    )
