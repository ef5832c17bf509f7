"""Each service logs in to MongoDB as its own user whose role grants actions on that
service's collections only: the bootstrap creates exactly the listed privileges (run twice:
idempotent), the table covers every collection each service's code names, and on a store that
requires logins the services do their work as their users and cannot drop, create users or
write to another database. SecantusDB matches a custom role's privileges per database, not
per collection (MongoDB does both), so that intake cannot read tickets is checked on the
privileges granted (rolesInfo), not by an attempt."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from services.intake.store import init_db as intake_indexes
from services.tracker.store import init_db as tracker_indexes
from shared.devstack import free_port, wait_for_port
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


@pytest.fixture
def store_with_auth(tmp_path):
    """A store that requires logins, with a root user (made before --auth, as its docs say)."""
    port = free_port()

    def start(*flags: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "secantus", "--host", "127.0.0.1",
                                 "--port", str(port), "--storage-path", str(tmp_path),
                                 "--log-level", "WARNING", *flags])
        wait_for_port("127.0.0.1", port, 30)
        return proc

    proc = start()
    first = MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true")
    first.admin.command("createUser", "root", pwd="root-pw",
                        roles=[{"role": "root", "db": "admin"}])
    first.close()
    proc.terminate()
    proc.wait(30)
    proc = start("--auth")
    yield f"mongodb://127.0.0.1:{port}/?directConnection=true&authSource=admin"
    proc.terminate()
    proc.wait(30)


def test_services_work_as_their_own_users_and_cannot_drop_or_leave_their_database(
        store_with_auth):
    env = {**os.environ, "MONGO_URI": store_with_auth, "MONGO_DB": "hotline1022",
           "MONGO_ROOT_USER": "root", "MONGO_ROOT_PASSWORD": "root-pw",
           "MONGO_PASSWORD_INTAKE": "pw-i", "MONGO_PASSWORD_CLASSIFIER": "pw-c",
           "MONGO_PASSWORD_TRACKER": "pw-t", "KAFKA_BOOTSTRAP": "127.0.0.1:1",
           "KAFKA_CREATE_TOPICS": "false", "PYTHONPATH": str(REPO_ROOT)}
    run = subprocess.run([sys.executable, str(REPO_ROOT / "deploy" / "docker" / "bootstrap.py")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "created hotline-intake" in run.stdout

    def login(service: str, password: str) -> MongoClient:
        return MongoClient(store_with_auth, username=f"hotline-{service}", password=password)

    intake, tracker = login("intake", "pw-i"), login("tracker", "pw-t")
    intake_indexes(intake["hotline1022"])  # what each service does at start
    tracker_indexes(tracker["hotline1022"])
    intake["hotline1022"]["reports"].insert_one({"tracking_code": "HCM-1"})
    assert intake["hotline1022"]["reports"].count_documents({}) == 1
    for attempt in (lambda: intake["hotline1022"]["reports"].drop(),
                    lambda: intake["hotline1022"].drop_collection("counters"),
                    lambda: intake["other"]["x"].insert_one({}),
                    lambda: tracker["admin"].command("createUser", "x", pwd="y", roles=[])):
        with pytest.raises(OperationFailure) as refused:
            attempt()
        assert refused.value.code == 13  # Unauthorized
    with pytest.raises(OperationFailure) as refused:
        login("intake", "wrong")["hotline1022"]["reports"].find_one()
    assert refused.value.code == 18  # AuthenticationFailed
