"""Staff identities: who holds a token, in which role, for which department.

Tokens are stored as SHA-256 digests; the file named by STAFF_USERS_FILE (a secret in
production) lists `{"user", "role", "department"?, "token_sha256"?, "password_hash"?}`: a
token for the API, a password (werkzeug's salted scrypt/pbkdf2 hash) for the web pages, or
both. The embedded and test environments fall back to demo users whose tokens and passwords
(plain `token` and `password` fields, demo only) are printed by `make run`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from werkzeug.security import check_password_hash


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


# Compared against when the user is unknown: an unknown user fails like a wrong password.
_NO_USER = ("plain", "\x00no-such-user\x00")


@dataclass(frozen=True)
class StaffDirectory:
    by_digest: dict[str, Principal]
    # user -> (principal, ("hash", werkzeug hash) | ("plain", demo password))
    by_user: dict[str, tuple[Principal, tuple[str, str]]] = field(default_factory=dict)

    def authenticate(self, token: str) -> Principal | None:
        digest = token_digest(token)
        for known, principal in self.by_digest.items():
            if hmac.compare_digest(known, digest):
                return principal
        return None

    def login(self, user: str, password: str) -> Principal | None:
        """The principal whose user name and password match, for the web pages' login."""
        principal, (kind, secret) = self.by_user.get(user, (None, _NO_USER))
        if kind == "hash":
            ok = check_password_hash(secret, password)
        else:
            ok = hmac.compare_digest(secret.encode("utf-8"), password.encode("utf-8"))
        return principal if ok and principal is not None else None

    def principal(self, user: str) -> Principal | None:
        """The current principal of a user (a web session holds only the user name)."""
        entry = self.by_user.get(user)
        if entry is not None:
            return entry[0]
        return next((p for p in self.by_digest.values() if p.user == user), None)


def directory_from_rows(rows: list[dict]) -> StaffDirectory:
    by_digest: dict[str, Principal] = {}
    by_user: dict[str, tuple[Principal, tuple[str, str]]] = {}
    for i, row in enumerate(rows):
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
    return StaffDirectory(by_digest, by_user)


def load_directory(path: Path) -> StaffDirectory:
    return directory_from_rows(json.loads(path.read_text(encoding="utf-8")))
