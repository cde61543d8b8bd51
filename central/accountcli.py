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

from central import accounts, orgs
from central.accounts import AccountError
from central.db import Database, reading

ACCOUNT_COMMANDS = ("add-owner", "add-manager", "set-password", "list-accounts")


def commands(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add the account commands; `command` gives each its --db and --org."""
    command("add-owner", "make a dashboard account that sees every shop of the organisation "
                         "(asks its password)").add_argument("email")
    manager = command("add-manager", "make a dashboard account for one shop's manager "
                                     "(asks its password)")
    manager.add_argument("email")
    manager.add_argument("--shop", required=True, help="the shop's name (kiosk-central list-shops)")
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


def run_account_command(db: Database, args: argparse.Namespace, now: datetime) -> str:
    """Run one of ACCOUNT_COMMANDS; StoreError (no such organisation or shop) and
    AccountError name the fix."""
    if args.command == "list-accounts":
        with reading(db) as conn:
            org = orgs.org_id(conn, args.org)
        rows = accounts.list_accounts(db, org)
        return "\n".join(f"{r['email']}\t{r['role']}\t{r['shop_id'] or '-'}" for r in rows) \
            or "no accounts (kiosk-central add-owner EMAIL makes the first)"
    email = accounts.normal_email(args.email)
    if args.command == "add-owner":
        with reading(db) as conn:
            org = orgs.org_id(conn, args.org)
        accounts.add_account(db, email, read_password(), "owner", org, None, now)
        return f"owner {email} can sign in at /login"
    if args.command == "add-manager":
        with reading(db) as conn:
            shop = orgs.find_shop(conn, args.shop, args.org)
        accounts.add_account(db, email, read_password(), "manager", shop.org_id, shop.id, now)
        return f"manager {email} of shop {shop.name!r} can sign in at /login"
    accounts.set_password(db, email, read_password(), now)
    return f"{email} has a new password; its sessions were signed out"
