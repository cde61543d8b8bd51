"""What the Program and Customers pages read of the signed-in account."""

from __future__ import annotations

from typing import Protocol


class Viewer(Protocol):
    """The signed-in account: e-mail (recorded with what it publishes), role, its
    organisation, and its shop for a manager (None for the organisation's owner)."""

    email: str
    role: str
    org_id: int
    shop_id: int | None
