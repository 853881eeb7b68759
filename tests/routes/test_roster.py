"""The roster: a CSV imported whole or not at all, and roster mode keeping outsiders out."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import GOOD_Q3, answer_api, answer_page, continue_as, csrf, start
from tests.routes.test_class_modes import learners, set_mode

ROSTER = "name,email\nAda Lovelace,ada@example.org\nAlan Turing,alan@example.org\nGrace Hopper\n"


def upload(client: TestClient, data: bytes, action: str = "preview") -> Any:
    """Send a roster CSV file through the import form."""
    token = csrf(client, "/instructor/class/roster")
    return client.post(
        "/instructor/class/roster",
        data={"csrf_token": token, "action": action},
        files={"file": ("class.csv", data, "text/csv")},
        follow_redirects=False,
    )


def paste(client: TestClient, text: str, action: str = "preview") -> Any:
    """Send roster names pasted into the form's text box."""
    token = csrf(client, "/instructor/class/roster")
    return client.post(
        "/instructor/class/roster",
        data={"csrf_token": token, "action": action, "csv_text": text},
        follow_redirects=False,
    )


def test_a_preview_shows_every_line_and_stores_nothing(
    app: FastAPI, instructor_client: TestClient
) -> None:
    preview = upload(instructor_client, ROSTER.encode())
    assert preview.status_code == 200
    assert "3 new learners" in preview.text and "Import 3 learners" in preview.text
    assert "Grace Hopper" in preview.text and "alan@example.org" in preview.text
    assert learners(app) == 0


def test_an_import_creates_the_learners_and_lists_them(
    app: FastAPI, instructor_client: TestClient
) -> None:
    done = upload(instructor_client, ROSTER.encode(), action="import")
    assert done.status_code == 200 and "3 learners added to the roster." in done.text
    assert done.text.count("<td><code>") == 3  # a sign-in code for each, shown once
    page = instructor_client.get("/instructor/class/roster")
    assert "Learners on the roster (3)" in page.text
    for name in ("Ada Lovelace", "Alan Turing", "Grace Hopper"):
        assert name in page.text
    assert learners(app) == 3
    again = upload(instructor_client, ROSTER.encode())  # importing twice adds nobody
    assert "3 already on it" in again.text


def test_every_bad_line_is_named_and_nothing_is_stored(
    app: FastAPI, instructor_client: TestClient
) -> None:
    text = (
        "Ada Lovelace,ada@example.org\n"
        ",nobody@example.org\n"  # line 2: no name
        "ada lovelace\n"  # line 3: the same name again, other case
        "Alan \u200bTuring\n"  # line 4
        "Alan Turing\n"  # line 5: looks like line 4 (a zero-width space)
        "Grace Hopper,not-an-email\n"  # line 6
        "Ken,ken@example.org,extra\n"  # line 7
    )
    refused = upload(instructor_client, text.encode(), action="import")
    assert refused.status_code == 422
    assert "Nothing was imported: 5 problems" in refused.text
    assert "line 2: the name is empty." in refused.text
    assert "line 3: “ada lovelace” is listed twice (also on line 1)." in refused.text
    # The invisible character is dropped as the name is read, so line 5 repeats line 4.
    assert "line 5: “Alan Turing” is listed twice (also on line 4)." in refused.text
    assert "line 6: That email address does not look valid." in refused.text
    assert "line 7: expected a name and an optional email, found more." in refused.text
    assert learners(app) == 0
    assert "Learners on the roster (0)" in instructor_client.get("/instructor/class/roster").text


def test_a_file_that_is_not_utf8_is_refused_by_line(
    app: FastAPI, instructor_client: TestClient
) -> None:
    latin1 = "name\nAda Lovelace\nRené Descartes\nAlan Turing\nÉmilie du Châtelet\n"
    refused = upload(instructor_client, latin1.encode("latin-1"), action="import")
    assert refused.status_code == 422
    assert "line 3: not UTF-8 text (byte 0xE9)" in refused.text
    assert "line 5: not UTF-8 text (byte 0xC9)" in refused.text
    assert learners(app) == 0


def test_a_spreadsheet_export_with_semicolons_and_a_bom_reads(
    app: FastAPI, instructor_client: TestClient
) -> None:
    excel = "\ufeffEmail;Name\r\nada@example.org;Ada Lovelace\r\nalan@example.org;Alan Turing\r\n"
    preview = upload(instructor_client, excel.encode("utf-8"))
    assert preview.status_code == 200, preview.text
    assert "2 new learners" in preview.text
    assert '<th scope="row">Ada Lovelace</th><td>ada@example.org</td>' in preview.text


def test_a_learner_who_started_joins_the_roster_with_their_attempts(
    app: FastAPI, instructor_client: TestClient
) -> None:
    ada = TestClient(app)
    start(ada, "Ada Lovelace", "ada@example.org")
    answer_page(ada, 3, GOOD_Q3)
    preview = paste(instructor_client, "Ada Lovelace\nAda\u200b Lovelace\n")
    assert "line 2: “Ada Lovelace” is listed twice (also on line 1)." in preview.text
    assert paste(instructor_client, "ADA LOVELACE\n", action="import").status_code == 200
    page = instructor_client.get("/instructor/class/roster")
    assert "Learners on the roster (1)" in page.text and "Ada Lovelace" in page.text
    assert learners(app) == 1
    assert '<td class="num">1</td>' in page.text  # her attempt is still hers


def test_roster_mode_refuses_outsiders_and_lets_listed_learners_in(
    app: FastAPI, instructor_client: TestClient
) -> None:
    imported = upload(instructor_client, ROSTER.encode(), action="import")
    assert imported.status_code == 200 and "shown this once" in imported.text
    assert imported.headers["cache-control"] == "no-store"
    found = re.search(
        r"<th scope=\"row\">Ada Lovelace</th><td><code>([a-z-]+)</code>", imported.text
    )
    assert found, imported.text
    set_mode(instructor_client, "roster")
    outsider = TestClient(app)
    assert "starts from your instructor's list of names" in outsider.get("/").text
    refused = start(outsider, "Mallory")
    assert refused.status_code == 422
    assert "this name is not on it" in refused.text
    api = answer_api(TestClient(app), 3, GOOD_Q3, learner="Mallory")
    assert api.status_code == 422 and "not on it" in api.json()["detail"]
    assert learners(app) == 3

    listed = TestClient(app)  # a listed learner starting is told to continue with their code
    assert start(listed, "ada lovelace", "ada@example.org").status_code == 409
    assert continue_as(listed, "ada lovelace", found[1]).status_code == 303
    assert "Welcome back, Ada Lovelace." in listed.get("/").text


def test_an_empty_file_is_refused(instructor_client: TestClient) -> None:
    refused = paste(instructor_client, "\n\n", action="import")
    assert refused.status_code == 422 and "The file holds no names" in refused.text


def test_a_line_the_csv_reader_refuses_is_named(
    app: FastAPI, instructor_client: TestClient
) -> None:
    text = "Ada Lovelace\n" + "x" * 140_000 + "\nAlan Turing\n"  # past csv's cell limit
    refused = paste(instructor_client, text, action="import")
    assert refused.status_code == 422
    assert "line 2: this line cannot be read as CSV" in refused.text
    assert learners(app) == 0


def test_one_learner_is_counted_as_one(app: FastAPI, instructor_client: TestClient) -> None:
    page = paste(instructor_client, "Ada Lovelace\n", action="import")
    assert "1 learner added to the roster." in page.text


def test_a_look_alike_from_another_script_undoes_the_whole_import(
    app: FastAPI, instructor_client: TestClient
) -> None:
    refused = paste(instructor_client, "Bob Victim\nBob V\u0456ctim\n", action="import")
    assert refused.status_code == 422
    assert "looks the same as another learner" in refused.text and "Bob Victim" in refused.text
    assert learners(app) == 0  # the first line's learner was undone with the rest
