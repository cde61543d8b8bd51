"""`kiosk-central add-owner`, `add-manager`, `set-password`, `list-accounts`: dashboard
accounts from the server's shell. The password is asked twice at a terminal, or read as
one line from standard input for scripts (`echo "$PASSWORD" | kiosk-central add-owner ...`);
it never appears on the command line, where `ps` and shell histories would keep it."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import datetime

from central import accounts
from central.accounts import AccountError
from central.db import Database

ACCOUNT_COMMANDS = ("add-owner", "add-manager", "set-password", "list-accounts")
DEFAULT_ORG = 1  # the organisation of a single shop's server


def commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    command("add-owner", "make a dashboard account that sees every shop (asks its password)"
            ).add_argument("email")
    manager = command("add-manager", "make a dashboard account for one shop's manager "
                                     "(asks its password)")
    manager.add_argument("email")
    manager.add_argument("--shop", required=True, help="the shop's name")
    command("set-password", "give a dashboard account a new password (ends its sessions)"
            ).add_argument("email")
    command("list-accounts", "list the dashboard's accounts")


def read_password(ask: Callable[[str], str] = getpass.getpass) -> str:
    """The new password: asked twice at a terminal, else one line of standard input."""
    if not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = ask("New password: ")
        if ask("Same password again: ") != password:
            raise AccountError("the two passwords differ; nothing was changed")
    problem = accounts.password_problem(password)
    if problem:
        raise AccountError(f"{problem}; nothing was changed")
    return password


def shop_id(db: Database, org_id: int, name: str) -> int:
    """The id of the organisation's shop called `name`."""
    raise AccountError(f"no shop named {name!r}")


def run_account_command(db: Database, args: argparse.Namespace, now: datetime) -> str:
    if args.command == "list-accounts":
        rows = accounts.list_accounts(db, DEFAULT_ORG)
        return "\n".join(f"{r['email']}\t{r['role']}\t{r['shop_id'] or '-'}" for r in rows) \
            or "no accounts (kiosk-central add-owner EMAIL makes the first)"
    email = accounts.normal_email(args.email)
    if args.command == "add-owner":
        accounts.add_account(db, email, read_password(), "owner", DEFAULT_ORG, None, now)
        return f"owner {email} can sign in at /login"
    if args.command == "add-manager":
        shop = shop_id(db, DEFAULT_ORG, args.shop)
        accounts.add_account(db, email, read_password(), "manager", DEFAULT_ORG, shop, now)
        return f"manager {email} of shop {args.shop!r} can sign in at /login"
    accounts.set_password(db, email, read_password(), now)
    return f"{email} has a new password; its sessions were signed out"
