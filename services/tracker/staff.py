"""Staff identities: who holds a token, in which role, for which department.

Tokens are stored as SHA-256 digests; the file named by STAFF_USERS_FILE (a secret in
production) lists `{"user", "role", "department"?, "token_sha256"}`. The embedded and test
environments fall back to demo users whose tokens are printed by `make run`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Role = Literal["operator", "handler", "supervisor", "admin", "service"]
ROLES: tuple[str, ...] = ("operator", "handler", "supervisor", "admin", "service")


@dataclass(frozen=True)
class Principal:
    user: str
    role: Role
    department: str | None = None

    def sees_all(self) -> bool:
        return self.role in {"supervisor", "admin", "operator"}


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StaffDirectory:
    by_digest: dict[str, Principal]

    def authenticate(self, token: str) -> Principal | None:
        digest = token_digest(token)
        for known, principal in self.by_digest.items():
            if hmac.compare_digest(known, digest):
                return principal
        return None


def directory_from_rows(rows: list[dict]) -> StaffDirectory:
    by_digest: dict[str, Principal] = {}
    for i, row in enumerate(rows):
        role = row.get("role")
        if role not in ROLES:
            raise ValueError(f"staff[{i}]: role must be one of {ROLES}")
        if role == "handler" and not row.get("department"):
            raise ValueError(f"staff[{i}]: a handler needs a department")
        digest = row.get("token_sha256") or (token_digest(row["token"]) if row.get("token")
                                             else None)
        if not digest or not row.get("user"):
            raise ValueError(f"staff[{i}]: user and token_sha256 are required")
        by_digest[digest] = Principal(user=row["user"], role=role,
                                      department=row.get("department"))
    return StaffDirectory(by_digest)


def load_directory(path: Path) -> StaffDirectory:
    return directory_from_rows(json.loads(path.read_text(encoding="utf-8")))
