"""Names and Role Provisioning: the course's roster lists learners who have not started."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import GOOD_Q3, answer_page, make_instructor, post_form, sign_in
from tests.lti.platform import LoopbackPlatform
from tests.lti.test_grades import eventually, launched_learner


def test_a_launch_syncs_the_roster_and_an_instructor_can_sync_again(
    client: TestClient, platform: LoopbackPlatform
) -> None:
    platform.offer_roster = True
    launched_learner(client, platform)
    with TestClient(client.app) as teacher:
        make_instructor(client.app)
        assert sign_in(teacher).status_code == 303
        # Ada is on the course's roster and never launched: she is listed, not started.
        eventually(lambda: "Ada Lovelace" in teacher.get("/instructor/").text)
        dashboard = teacher.get("/instructor/").text
        assert "Grace Hopper" in dashboard and "Alan Kay" not in dashboard  # teachers are not
        export = teacher.get("/instructor/export/scores.csv").text
        assert "Ada Lovelace,ada@example.edu" in export
        assert platform.roster_calls == 1
        # Another launch soon after does not sync again; a score sent proves a round ran.
        launched_learner(client, platform)
        answer_page(client, 3, GOOD_Q3)
        eventually(lambda: platform.score_of("learner-1"))
        assert platform.roster_calls == 1
        page = "/instructor/lti"
        synced = post_form(teacher, "/instructor/lti/links/1/roster", {}, page)
        assert synced.status_code == 303
        eventually(lambda: platform.roster_calls == 2)
        assert "Roster: synced" in teacher.get(page).text
