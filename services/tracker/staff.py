"""Staff identities: who holds a token, in which role, for which department.

Tokens are stored as SHA-256 digests; the file named by STAFF_USERS_FILE (a secret in
production) lists `{"user", "role", "department"?, "token_sha256"?, "password_hash"?}`: a
token for the API, a password (werkzeug's salted scrypt/pbkdf2 hash) for the web pages, or
both; `"disabled": true` keeps a row but refuses it (its sessions end at the next request).
Plain-text `token` and `password` fields are refused, except in the bundled demo directory
(staff.demo.json, embedded and test environments only) whose users `make run` prints.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash


class Role(StrEnum):
    OPERATOR = "operator"      # the call center: takes calls, triages
    HANDLER = "handler"        # one department's staff
    SUPERVISOR = "supervisor"  # every department, the figures
    ADMIN = "admin"
    SERVICE = "service"        # intake, acting for the citizen (rating, reopen)


ROLES: tuple[Role, ...] = tuple(Role)
STAFF_ROLES: tuple[Role, ...] = (Role.OPERATOR, Role.HANDLER, Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True)
class Principal:
    user: str
    role: Role
    department: str | None = None

    def sees_all(self) -> bool:
        return self.role in {Role.SUPERVISOR, Role.ADMIN, Role.OPERATOR}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class PlainSecretError(ValueError):
    """A staff row holds a plain-text password or token where only hashes are allowed."""


@cache
def _dummy_hash(method: str) -> str:
    """Checked when the user is unknown, so that an unknown user costs what a known one does
    (same hash method and parameters): the answer's timing does not tell who exists."""
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def _hash_method(werkzeug_hash: str) -> str:
    return werkzeug_hash.split("$", 1)[0]


@dataclass(frozen=True)
class StaffDirectory:
    by_digest: dict[str, Principal]
    # user -> (principal, ("hash", werkzeug hash) | ("plain", demo password))
    by_user: dict[str, tuple[Principal, tuple[str, str]]] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    hash_method: str = "scrypt"  # the rows' own, so that the dummy check costs the same

    def authenticate(self, token: str) -> Principal | None:
        digest = token_digest(token)
        found = None
        for known, principal in self.by_digest.items():
            if hmac.compare_digest(known, digest):
                found = principal
        return found if found is not None and found.user not in self.disabled else None

    def login(self, user: str, password: str) -> Principal | None:
        """The principal whose user name and password match, for the web pages' login.
        Unknown and disabled users take the same path as known ones."""
        entry = self.by_user.get(user)
        if entry is None:
            principal, (kind, secret) = None, ("hash", _dummy_hash(self.hash_method))
        else:
            principal, (kind, secret) = entry
        if kind == "hash":
            ok = check_password_hash(secret, password)
        else:
            ok = hmac.compare_digest(secret.encode("utf-8"), password.encode("utf-8"))
        if not ok or principal is None or user in self.disabled:
            return None
        return principal

    def principal(self, user: str) -> Principal | None:
        """The current principal of a user (a web session holds only the user name)."""
        if user in self.disabled:
            return None
        entry = self.by_user.get(user)
        if entry is not None:
            return entry[0]
        return next((p for p in self.by_digest.values() if p.user == user), None)

    def credential(self, user: str) -> str:
        """A digest of the user's stored password hash: a session records it at login and
        ends when it changes (a password change in the directory logs the user out)."""
        entry = self.by_user.get(user)
        secret = entry[1][1] if entry is not None else ""
        return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]


def directory_from_rows(rows: list[dict], *, allow_plain: bool = False) -> StaffDirectory:
    """`allow_plain`: accept plain-text `token`/`password` fields (the demo directory only)."""
    by_digest: dict[str, Principal] = {}
    by_user: dict[str, tuple[Principal, tuple[str, str]]] = {}
    disabled: set[str] = set()
    methods: list[str] = []
    for i, row in enumerate(rows):
        plain = [name for name in ("token", "password") if row.get(name)]
        if plain and not allow_plain:
            raise PlainSecretError(
                f"staff[{i}]: plain-text {' and '.join(plain)} refused; store token_sha256 "
                "and password_hash (werkzeug generate_password_hash) instead")
        role = row.get("role")
        if role not in ROLES:
            raise ValueError(f"staff[{i}]: role must be one of {ROLES}")
        if role == Role.HANDLER and not row.get("department"):
            raise ValueError(f"staff[{i}]: a handler needs a department")
        digest = row.get("token_sha256") or (token_digest(row["token"]) if row.get("token")
                                             else None)
        password = (("hash", row["password_hash"]) if row.get("password_hash")
                    else ("plain", row["password"]) if row.get("password") else None)
        if not (digest or password) or not row.get("user"):
            raise ValueError(f"staff[{i}]: user and token_sha256 or password_hash are required")
        principal = Principal(user=row["user"], role=Role(role),
                              department=row.get("department"))
        if digest:
            by_digest[digest] = principal
        if password:
            by_user[row["user"]] = (principal, password)
            if password[0] == "hash":
                methods.append(_hash_method(password[1]))
        if row.get("disabled"):
            disabled.add(row["user"])
    return StaffDirectory(by_digest, by_user, frozenset(disabled),
                          hash_method=methods[0] if methods else "scrypt")


def load_directory(path: Path, *, allow_plain: bool = False) -> StaffDirectory:
    return directory_from_rows(json.loads(path.read_text(encoding="utf-8")),
                               allow_plain=allow_plain)
