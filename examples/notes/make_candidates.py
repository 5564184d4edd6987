#!/usr/bin/python3
"""Regenerate candidates/ and candidates-feedback/ from tests/fixtures/notes_app.

The fixture directory is the single source of truth for the correct app; each
broken candidate is that app with one realistic mistake. Each output file is a
raw model reply (some with prose or a code fence around the JSON).
Run: /usr/bin/python3 examples/notes/make_candidates.py
"""
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent.parent / "tests" / "fixtures" / "notes_app"


def load_fixture() -> dict:
    files = {}
    for p in sorted(FIXTURE.rglob("*")):
        rel = p.relative_to(FIXTURE).as_posix()
        if p.is_file() and "__pycache__" not in rel and not rel.startswith(".pytest_cache"):
            if rel.endswith(".db"):
                continue
            files[rel] = p.read_text()
    return files


def replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise SystemExit(f"mutation anchor not found exactly once: {old!r}")
    return text.replace(old, new)


def raw(files: dict) -> str:
    return json.dumps(files, indent=2) + "\n"


def fenced(files: dict, before: str, after: str = "", lang: str = "json") -> str:
    out = f"{before}\n\n```{lang}\n{json.dumps(files, indent=2)}\n```\n"
    return out + (f"\n{after}\n" if after else "")


FLASK_ROUTES = '''"""Interface layer: Flask routes."""
from flask import Blueprint, Flask, abort, jsonify, request

from app.application.use_cases import CreateNote, GetNote, ListNotes, NoteNotFound


def create_app(repo) -> Flask:
    bp = Blueprint("notes", __name__)

    @bp.post("/notes")
    def create_note():
        data = request.get_json() or {}
        if not data.get("title"):
            abort(422)
        note = CreateNote(repo).execute(data["title"], data.get("content", ""))
        return jsonify(note.to_dict()), 201

    @bp.get("/notes")
    def list_notes():
        return jsonify([n.to_dict() for n in ListNotes(repo).execute()])

    @bp.get("/notes/<int:note_id>")
    def get_note(note_id):
        try:
            return jsonify(GetNote(repo).execute(note_id).to_dict())
        except NoteNotFound:
            abort(404)

    app = Flask(__name__)
    app.register_blueprint(bp)
    return app
'''

FLASK_MAIN = '''import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask  # noqa: E402,F401

from app.infrastructure.sqlite_repository import SQLiteNoteRepository  # noqa: E402
from app.interface.routes import create_app  # noqa: E402

app = create_app(SQLiteNoteRepository(os.environ.get("NOTES_DB", "notes.db")))

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=8000)
'''

FLASK_TESTS = '''import pytest

from app.infrastructure.sqlite_repository import SQLiteNoteRepository
from app.interface.routes import create_app


@pytest.fixture
def client(tmp_path):
    app = create_app(SQLiteNoteRepository(str(tmp_path / "notes.db")))
    return app.test_client()


def test_create(client):
    r = client.post("/notes", json={"title": "a", "content": "b"})
    assert r.status_code == 201
    assert r.get_json()["id"] == 1


def test_missing(client):
    assert client.get("/notes/42").status_code == 404
'''

HANG_FIXTURE = '''@pytest.fixture(scope="module")
def live_server():
    # Wait until the app started by api/main.py reports healthy.
    while True:
        try:
            if httpx.get(f"{LIVE_URL}/health", timeout=2).status_code == 200:
                return LIVE_URL
        except httpx.HTTPError:
            pass
        time.sleep(0.5)


def test_live_app_roundtrip(live_server):
'''


def variants(ok: dict) -> dict:
    c = {}
    main = ok["api/main.py"]
    routes = ok["app/interface/routes.py"]
    tests = ok["tests/test_notes.py"]

    f = dict(ok)
    f["api/main.py"] = replace_once(main, "def main() -> None:", "def main() -> None")
    c["candidates/01-syntax-error.json"] = raw(f)

    f = dict(ok)
    f["api/main.py"] = FLASK_MAIN
    f["app/interface/routes.py"] = FLASK_ROUTES
    f["tests/test_notes.py"] = FLASK_TESTS
    f["requirements.txt"] = "flask\n"
    c["candidates/02-missing-module.json"] = fenced(
        f, "Here is the notes API, structured in Clean Architecture layers with Flask and SQLite:")

    # The route forgets status_code=201, so FastAPI answers 200.
    f = dict(ok)
    f["app/interface/routes.py"] = replace_once(
        routes, '@router.post("/notes", status_code=201)', '@router.post("/notes")')
    c["candidates/03-failing-test.json"] = raw(f)
    fb = dict(f)
    fb["tests/test_notes.py"] = replace_once(
        tests, "    assert r.status_code == 201\n",
        '    assert r.status_code == 201, f"EXPECTED_STATUS_201_GOT_{r.status_code}"\n')
    c["candidates-feedback/fail.json"] = fenced(fb, "Here is the repository as a JSON object:")

    f = dict(ok)
    f["api/main.py"] = replace_once(main, 'if __name__ == "__main__":', 'if __name__ == "main":')
    c["candidates/04-server-exits.json"] = fenced(
        f, "Sure! Below is the complete project.",
        "Run it with `python3 api/main.py` and the tests with `python3 -m pytest`.")

    f = dict(ok)
    t = replace_once(tests, "import uuid\n", "import time\nimport uuid\n")
    f["tests/test_notes.py"] = replace_once(t, "def test_live_app_roundtrip():\n", HANG_FIXTURE)
    c["candidates/05-hang.json"] = fenced(f, "The project files:", lang="")

    c["candidates/06-correct.json"] = fenced(
        ok, "Here is the complete Clean Architecture notes API (FastAPI + SQLite) with pytest tests:")
    c["candidates-feedback/pass.json"] = fenced(
        ok, "Fixed: POST /notes now returns 201 Created. Full repository:")
    return c


def main() -> None:
    for rel, text in variants(load_fixture()).items():
        (HERE / rel).parent.mkdir(parents=True, exist_ok=True)
        (HERE / rel).write_text(text)
        print(rel)


if __name__ == "__main__":
    main()
