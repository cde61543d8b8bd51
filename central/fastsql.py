"""Core statements compiled once per database dialect and run through the driver cursor.

On the upload path a batch looks up and inserts hundreds of values at a time, and
SQLAlchemy's per-execution parameter handling (expanding `IN` lists, one dict per row)
cost several times SQLite's own work. The SQL still comes from Core, compiled for the
dialect of the connection in hand, so it is right for whichever database the URL names;
only the parameters skip SQLAlchemy's processing, which is why these statements take
plain strings and integers only.

On PostgreSQL the statements that carry a value per row take one array per column
(`Arrays`), sent in psycopg's binary format: the text format quotes every element that
holds a quote, a brace or a space (each JSON fold has dozens), one Python call per
quote, which cost more than the rest of the card write together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, CursorResult


class _Compiled:
    def __init__(self, sql: str, order: Sequence[str] | None) -> None:
        self.sql = sql
        self.order = order  # parameter names in order for positional paramstyles, else None
        # one C call per row instead of a generator over the names (itemgetter of one
        # name gives the value, not a tuple)
        self._pick: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None = None
        if order is not None:
            self._pick = (itemgetter(*order) if len(order) > 1
                          else lambda values: tuple(values[name] for name in order))

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...] | Mapping[str, Any]:
        return values if self._pick is None else self._pick(values)


def _compile(statement: Select[Any] | Insert, conn: Connection) -> _Compiled:
    compiled = statement.compile(dialect=conn.dialect)
    order = compiled.positiontup
    return _Compiled(str(compiled), None if order is None else list(order))


class InQuery:
    """`build(values_in)` where values_in is `column IN (...)`: run for a list of values.

    On PostgreSQL the list is one array parameter (in binary): one statement text for every
    length, which psycopg converts once and the server prepares once (psycopg converts a
    statement of more than 50 parameters anew on every run). The query is run once per
    value of the array (a LATERAL join, which the planner cannot merge into a scan of the
    table: OFFSET 0), each time with `column = value`: a probe of the index that starts
    with the query's keys, whatever the table's statistics say. Written as `column =
    ANY(array)`, a lookup of a few hundred cards in a table without statistics yet (new,
    or restored from a dump, until autovacuum analyses it) reads every card of the
    organisation through another index on its first key.

    Elsewhere the list is padded (with its last value, which changes no answer) to a few
    fixed lengths, so each length is compiled once. Each value is looked up once; the rows
    come in no particular order. `build` must not limit, order or deduplicate (LIMIT,
    ORDER BY, DISTINCT): on PostgreSQL they would apply to each value's rows alone."""

    def __init__(self, column: ColumnElement[Any],
                 build: Callable[[ColumnElement[bool]], Select[Any]]) -> None:
        self.column, self.build = column, build
        self._compiled: dict[tuple[str, int], _Compiled] = {}

    def run(self, conn: Connection, values: Sequence[Any], **extra: Any) -> CursorResult[Any]:
        """`extra`: the values of the statement's other bind parameters."""
        if conn.dialect.name == "postgresql":
            compiled = self._compiled.get(("postgresql", 0))
            if compiled is None:
                compiled = _compile(self._probes(), conn)
                # the array in binary (Arrays says why)
                compiled.sql = compiled.sql.replace("%(values)s", "%(values)b")
                self._compiled["postgresql", 0] = compiled
            return conn.exec_driver_sql(
                compiled.sql, compiled.params({**extra, "values": list(dict.fromkeys(values))}))
        size = 16
        while size < len(values):
            size *= 2
        key = (conn.dialect.name, size)
        compiled = self._compiled.get(key)
        if compiled is None:
            names: list[Any] = [bindparam(f"v{i}") for i in range(size)]
            compiled = self._compiled[key] = _compile(self.build(self.column.in_(names)), conn)
        padded = list(values) + [values[-1]] * (size - len(values))
        return conn.exec_driver_sql(
            compiled.sql,
            compiled.params({**extra, **{f"v{i}": v for i, v in enumerate(padded)}}),
        )

    def _probes(self) -> Select[Any]:
        """PostgreSQL: the query once per value of the array parameter `values`."""
        # strings as text, as in `unnest` below
        kind = Text() if isinstance(self.column.type, String) else self.column.type
        wanted = func.unnest(cast(bindparam("values"), postgresql.ARRAY(kind))
                             ).table_valued("value").render_derived(name="wanted")
        found = (self.build(self.column == wanted.c.value)
                 .offset(literal_column("0")).lateral("found"))
        return select(*found.c).select_from(wanted).join(found, true())


class InsertMany:
    """An INSERT of the named columns of a table, run for many rows at once.

    On PostgreSQL the rows go in one COPY: one message for the lot instead of a bound
    statement per row, which cost the server (and psycopg) several times the rows' own
    work. A row that breaks a constraint fails the COPY as it would fail the INSERT."""

    def __init__(self, statement: Insert, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.statement = statement.values({name: bindparam(name) for name in columns})
        self._compiled: dict[str, _Compiled] = {}
        self._table = str(getattr(statement.table, "name", statement.table))

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if conn.dialect.name == "postgresql":
            quote = conn.dialect.identifier_preparer.quote
            sql = (f"COPY {quote(self._table)} ({', '.join(map(quote, self.columns))}) "
                   "FROM STDIN")
            raw = conn.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row([row[name] for name in self.columns])
            return
        compiled = self._compiled.get(conn.dialect.name)
        if compiled is None:
            compiled = self._compiled[conn.dialect.name] = _compile(self.statement, conn)
        conn.exec_driver_sql(compiled.sql, [compiled.params(row) for row in rows])


class Arrays:
    """A PostgreSQL statement whose `%(name)b` parameters are sent in binary (psycopg's
    placeholder for it), run for many rows at once as one array per column.

    `rows`: dicts holding at least `columns`; `extra`: other parameters, as they are. The
    SQL is written for psycopg (pyformat, `%(name)s` or `%(name)b`); only the statement's
    text passes through SQLAlchemy (errors, the pool), none of its parameter handling."""

    def __init__(self, sql: str, columns: Sequence[str]) -> None:
        self.sql, self.columns = sql, list(columns)

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]], **extra: Any
            ) -> CursorResult[Any]:
        values = {name: [row[name] for row in rows] for name in self.columns}
        return conn.exec_driver_sql(self.sql, {**values, **extra})


def unnest(table: Table, columns: Sequence[str], fixed: Mapping[str, str] | None = None
           ) -> str:
    """`SELECT ... FROM unnest(...)` of `columns` of `table`, each from the binary array
    parameter of its name cast to the column's type, in the arrays' order; `fixed`:
    other columns, each from the SQL expression given (a parameter like `%(org)s`). The
    names come out in `columns` order, then `fixed`'s."""
    fixed = fixed or {}
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    # strings as text: an explicit cast to varchar(n) would cut a longer value short, where
    # storing it into the column refuses it
    types = {name: "text" if isinstance(table.c[name].type, String)
             else table.c[name].type.compile(dialect=dialect) for name in columns}
    arrays = ", ".join(f"CAST(%({name})b AS {types[name]}[])" for name in columns)
    picked = ", ".join([*columns, *fixed.values()])
    return (f"SELECT {picked} FROM unnest({arrays}) WITH ORDINALITY "
            f"AS given({', '.join(columns)}, n) ORDER BY n")
