"""The reference central API server (`kiosk-central`). Imports kiosk.core, kiosk.config's
ProgramSection to check programs exactly as kiosks do, and kiosk.fields (pydantic fields
built from the core's bounds); nothing else of the kiosk.

Modules: `app` (FastAPI routes, `create_app(db_url)`), `validate` (checks, pure),
`schema` (the API's event model, built from kiosk.core's Event), `listen` (the socket),
`cards` (card answers and time flags, pure), `ingest` (the upload transaction),
`writer` (group commit), `store` (kiosks, program, customers), `db` (schema, engine),
`program` (program files), `cli` (the command), `testing` (a real server on loopback for
tests: `running_server`, `add_kiosk`, `event_dict`, `Client`), `crashcheck` (SIGKILL runs).

Contract additions beyond the issue's outline, all compatible:
- a card answer also has `flagged_events` {event id: [flags]};
- the envelope (not an object, no `events` list, 0 or > 500 events, an element that is
  not an object or has no string `id`) is a 422 for the whole request; anything wrong
  inside one event (types, unknown or missing fields, dates) rejects that event only;
- a storage failure is a 503 with Retry-After, never a 500.
"""
