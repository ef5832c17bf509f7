"""Each service logs in to MongoDB as its own user whose role grants actions on that
service's collections only: the bootstrap creates exactly the listed privileges (run twice:
idempotent), and the table covers every collection each service's code names."""

from __future__ import annotations

import ast
import importlib.util
import re
import uuid
from pathlib import Path

import pytest

from shared.settings import REPO_ROOT

spec = importlib.util.spec_from_file_location(
    "mongo_users", REPO_ROOT / "deploy" / "docker" / "mongo_users.py")
mongo_users = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mongo_users)


@pytest.fixture
def cleanup(mongo):
    yield
    for service in mongo_users.ROLES:
        name = mongo_users.user_name(service)
        for command in ("dropUser", "dropRole"):
            try:
                mongo["admin"].command(command, name)
            except Exception:  # noqa: BLE001, S110 - not created: nothing to drop
                pass


def test_bootstrap_creates_each_service_role_with_exactly_its_privileges(mongo, cleanup):
    app_db = f"t_{uuid.uuid4().hex[:12]}"
    passwords = {s: f"pw-{s}-{uuid.uuid4().hex}" for s in mongo_users.ROLES}
    first = mongo_users.ensure_users(mongo, app_db=app_db, passwords=passwords)
    again = mongo_users.ensure_users(mongo, app_db=app_db, passwords=passwords)
    assert all(line.startswith("created") for line in first)
    assert all(line.startswith("updated") for line in again)
    admin = mongo["admin"]
    for service, collections in mongo_users.ROLES.items():
        name = mongo_users.user_name(service)
        role, = admin.command("rolesInfo", name, showPrivileges=True)["roles"]
        granted = {(p["resource"]["db"], p["resource"]["collection"]): set(p["actions"])
                   for p in role["privileges"]}
        assert granted == {(app_db, c): set(a) for c, a in collections.items()}
        assert role["roles"] == [] and role.get("inheritedRoles", []) == []
        user, = admin.command("usersInfo", name)["users"]
        assert [(r["role"], r["db"]) for r in user["roles"]] == [(name, "admin")]
    # no service reaches another's data
    owners = [set(c) for c in mongo_users.ROLES.values()]
    assert all(not (a & b) for i, a in enumerate(owners) for b in owners[i + 1:])
    assert not {"dropIndex", "dropCollection", "dropDatabase"} & {
        a for c in mongo_users.ROLES.values() for acts in c.values() for a in acts}


def test_a_missing_password_is_refused(mongo, cleanup):
    with pytest.raises(ValueError, match="tracker"):
        mongo_users.ensure_users(mongo, app_db="x", passwords={"intake": "a", "classifier": "b"})


def _constants(service: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in (REPO_ROOT / "services" / service).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str)):
                found[node.targets[0].id] = node.value.value
    return found


@pytest.mark.parametrize("service", sorted(mongo_users.ROLES))
def test_the_role_table_covers_every_collection_the_service_code_names(service):
    names = _constants(service)
    used = set()
    for path in (REPO_ROOT / "services" / service).rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for ref in re.findall(r"db\[([A-Z_]+|\"[a-z_.]+\")\]", text):
            used.add(ref.strip('"') if ref.startswith('"') else names[ref])
        for bucket in re.findall(r"GridFS\(db, collection=([A-Z_]+)\)", text):
            used |= {f"{names[bucket]}.files", f"{names[bucket]}.chunks"}
    assert used, "no collection found: the pattern no longer matches the code"
    assert used <= set(mongo_users.ROLES[service]), Path(service)
