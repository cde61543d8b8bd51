"""The reference central API server (`kiosk-central`). Imports kiosk.core, kiosk.config's
ProgramSection to check programs exactly as kiosks do, and kiosk.fields (pydantic fields
built from the core's bounds); nothing else of the kiosk.

Modules: `app` (FastAPI routes, `create_app(db_url)`), `contract` (the models of every
answer and error, for /openapi.json), `validate` (checks, pure), `schema` (the API's
event model, built from kiosk.core's Event), `cards` (card answers and time flags, pure),
`ingest` (the upload transaction), `writer` (group commit),
`cardcache` (card folds between commits), `figures` (dashboard counters kept at ingest),
`store` (kiosks, program, customers), `db` (schema, engine), `migrations` (Alembic
revisions of the schema), `ratelimit` (per-kiosk token bucket, pure), `serving` (socket,
uvicorn limits, several processes), `program` (program files), `cli` (the command),
`testing` (a real server on loopback or as a process for tests: `running_server`,
`ServerProcess`, `add_kiosk`, `event_dict`, `Client`), `crashcheck` (SIGKILL runs).

The server's libraries (FastAPI, uvicorn, SQLAlchemy, Alembic, psycopg) come with the
`central` extra; nothing under kiosk/ imports this package.

Contract additions beyond the issue's outline, all compatible:
- a card answer also has `flagged_events` {event id: [flags]};
- the envelope (not an object, no `events` list, 0 or > 500 events, an element that is
  not an object or has no string `id`) is a 422 for the whole request; anything wrong
  inside one event (types, unknown or missing fields, dates) rejects that event only;
- a storage failure is a 503 with Retry-After, never a 500;
- a kiosk past its rate is a 429 with Retry-After, a body past the cap a 413.
"""
