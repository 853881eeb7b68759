"""The background sender: scores from the outbox to the platforms' gradebooks (AGS), and
the courses' rosters (NRPS) in.

It runs beside the web process in a thread of its own, so a platform that is slow or
down delays only its scores: each failure is retried with an exponential back-off, and
after ``TFQUIZ_LTI_SEND_MAX_TRIES`` the row is shown as failed on the instructor's page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.service_connector import ServiceConnector

from app.attempts import progress_by_question
from app.config import Settings
from app.db import Database
from app.lti.adapters import PlatformSession
from app.lti.keys import KeyStore
from app.lti.outbox import claim_due, mark_failed, mark_sent
from app.lti.roster import apply_roster, claim_rosters, fetch_members, note_failure
from app.lti.toolconf import DatabaseToolConf
from app.models import LtiLink, LtiScoreSend, LtiUser
from app.periodic import Periodic
from app.questions import QuestionBank

log = logging.getLogger(__name__)
TOTAL_TAG = "tfquiz-total"


@dataclass(frozen=True)
class Outgoing:
    """One score, read when it is sent: where to, for whom, how much."""

    row_id: int
    platform_id: int
    sub: str
    link: LtiLink
    label: str
    resource_id: str
    tag: str
    given: float
    maximum: float
    provisional: bool


class ScoreSender:
    """Sends due scores every ``TFQUIZ_LTI_SEND_INTERVAL_S``; ``send_due`` does one round."""

    def __init__(
        self, database: Database, bank: QuestionBank, keys: KeyStore, settings: Settings
    ) -> None:
        self._database, self._bank, self._keys = database, bank, keys
        self._interval = settings.lti_send_interval_s
        self._backoff = timedelta(seconds=settings.lti_send_retry_s)
        self._max_tries = settings.lti_send_max_tries
        self._roster_every = timedelta(minutes=settings.lti_roster_minutes)
        self._thread = Periodic("lti-score-sender", self._interval, self._round, log)

    def start(self) -> None:
        """Start the sending thread (once, however often the app's lifespan starts)."""
        self._thread.start()

    def close(self) -> None:
        """Stop the thread; rows it did not send stay queued for the next start."""
        self._thread.close()

    def _round(self) -> None:
        self.send_due()
        self.sync_rosters()

    def sync_rosters(self) -> int:
        """Sync every roster that is due; return how many links were synced."""
        with self._database.writing() as session:
            links = claim_rosters(session, self._roster_every)
        synced = 0
        for link_id in links:
            try:
                members = fetch_members(self._database, self._keys, link_id)
            except Exception as error:  # the LMS's or the network's: tried again later
                log.warning("roster of course link %s not synced: %s", link_id, error)
                with self._database.writing() as session:
                    note_failure(session, link_id, str(error))
                continue
            with self._database.writing() as session:
                apply_roster(session, link_id, members)
            synced += 1
        return synced

    def send_due(self) -> int:
        """Send every score due now; return how many the platforms accepted."""
        with self._database.writing() as session:
            ids = claim_due(session)
        return sum(self._send(row_id) for row_id in ids)

    def _send(self, row_id: int) -> bool:
        try:
            outgoing = self._read(row_id)
            if outgoing is not None:
                self._put(outgoing)
        except Exception as error:  # the platform's, the network's or a bad row: all retried
            log.warning("score %s not sent to the LMS: %s", row_id, error)
            with self._database.writing() as session:
                mark_failed(session, row_id, str(error), self._backoff, self._max_tries)
            return False
        if outgoing is None:
            return False
        with self._database.writing() as session:
            mark_sent(session, row_id, outgoing.given, outgoing.maximum)
        return True

    def _read(self, row_id: int) -> Outgoing | None:
        """Read the row and the learner's counted score as it is now."""
        with self._database.reading() as session:
            row = session.get(LtiScoreSend, row_id)
            if row is None:
                return None
            link = session.get(LtiLink, row.link_id)
            user = session.get(LtiUser, row.lti_user_id)
            if link is None or user is None or user.learner_id is None:
                raise ValueError("the link or the learner of this score is gone")
            progress = progress_by_question(session, user.learner_id)
        questions = self._bank.ordered()
        if row.question_id is None:  # the whole quiz's total
            given = sum(p.best_points for q in questions if (p := progress.get(str(q.id))))
            pending = any(p.provisional for p in progress.values())
            label, resource, tag = "tfquiz: total", "tfquiz-total", TOTAL_TAG
            maximum = self._bank.possible_points
        else:
            question = self._bank.by_id(row.question_id)
            if question is None:
                raise ValueError(f"question {row.question_id} is no longer in the quiz")
            found = progress.get(row.question_id)
            given = found.best_points if found else 0.0
            pending = bool(found and found.provisional)
            label = f"tfquiz {question.number}: {question.title}"[:200]
            resource, tag, maximum = row.question_id, "tfquiz-question", question.points
        return Outgoing(
            row_id, link.platform_id, user.sub, link, label, resource, tag,
            round(given, 4), maximum, pending,
        )  # fmt: skip

    def _put(self, out: Outgoing) -> None:
        """Send the score with pylti1p3, to the link's line item or one tfquiz made."""
        with self._database.reading() as session:
            config = DatabaseToolConf(session, self._keys.current())
        platform = next((p for p in config.platforms if p.id == out.platform_id), None)
        if platform is None:
            raise ValueError("the platform of this link is no longer registered")
        registration = config.registration(platform)
        connector = ServiceConnector(registration, PlatformSession())
        endpoint = {
            "scope": out.link.ags_scopes,
            "lineitems": out.link.lineitems_url or "",
            "lineitem": out.link.lineitem_url or "",
        }
        ags = AssignmentsGradesService(connector, endpoint)  # type: ignore[arg-type]
        item: LineItem | None = None
        own_item = out.link.question_id is None and (
            out.link.grade_mode == "per-question" or not out.link.lineitem_url
        )
        if own_item:
            item = ags.find_or_create_lineitem(
                LineItem()
                .set_tag(out.tag if out.tag == TOTAL_TAG else f"{out.tag}-{out.resource_id}")
                .set_label(out.label)
                .set_resource_id(out.resource_id)
                .set_resource_link_id(out.link.resource_link_id)
                .set_score_maximum(out.maximum)
            )
        grade = (
            Grade()
            .set_score_given(out.given)
            .set_score_maximum(out.maximum)
            .set_timestamp(datetime.now(UTC).isoformat(timespec="milliseconds"))
            .set_activity_progress("Submitted")
            .set_grading_progress("PendingManual" if out.provisional else "FullyGraded")
            .set_user_id(out.sub)
        )
        ags.put_grade(grade, item)
