"""The database tables, as SQLAlchemy 2 typed models."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC and hand them back aware, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Convert to UTC before storing."""
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Attach UTC to values that come back naive (SQLite)."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every table."""


class Learner(Base):
    """Someone taking the quiz, known by a display name unique up to case."""

    __tablename__ = "learner"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)

    attempts: Mapped[list[Attempt]] = relationship(back_populates="learner")


class Attempt(Base):
    """One graded answer, kept forever; the best attempt per question counts."""

    __tablename__ = "attempt"
    __table_args__ = (
        Index("ix_attempt_learner_question", "learner_id", "question_id"),
        # Covers "best counted score per learner and question", the dashboard's core query.
        Index("ix_attempt_best_scores", "question_id", "learner_id", "final_score", "final_points"),
        # A client retrying after a lost response sends the same key: stored once.
        UniqueConstraint("learner_id", "idempotency_key", name="uq_attempt_idempotency"),
        # The review queue: provisional answers not yet settled, oldest first.
        Index("ix_attempt_review_queue", "needs_review", "reviewed_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    learner_id: Mapped[int] = mapped_column(ForeignKey("learner.id", ondelete="CASCADE"))
    # A question is its uuid: every query goes by it. The number is the one the question had
    # when answered, shown (and exported) only, so renumbering a file keeps its history.
    question_id: Mapped[str] = mapped_column(String(36), index=True)
    question_number: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    points: Mapped[float] = mapped_column(Float)
    max_points: Mapped[float] = mapped_column(Float)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # What counts: the auto score until an instructor overrides it or accepts a claim.
    final_score: Mapped[float] = mapped_column(Float)
    final_points: Mapped[float] = mapped_column(Float)
    override_comment: Mapped[str | None] = mapped_column(Text, default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), default=None)
    # The grader's own doubt: a provisional score waits in the review queue until an
    # instructor accepts or changes it (``reviewed_at``).
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    review_reason: Mapped[str | None] = mapped_column(Text, default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    reviewed_by: Mapped[int | None] = mapped_column(
        ForeignKey("instructor.id", ondelete="SET NULL"), default=None
    )
    # Made after the learner had seen the reference answer: graded and shown, not counted
    # unless the course counts practice.
    practice: Mapped[bool] = mapped_column(Boolean, default=False)

    learner: Mapped[Learner] = relationship(back_populates="attempts")


class AttemptPoint(Base):
    """Whether an attempt met one key point: the rows behind "most often missed"."""

    __tablename__ = "attempt_point"
    # Counts missed points per question; its leading column also finds a question's rows.
    __table_args__ = (Index("ix_attempt_point_missed", "question_id", "met", "point_id"),)

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE"), primary_key=True
    )
    point_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The question is its uuid, as on the attempt; the number is what it was then, shown only.
    question_id: Mapped[str] = mapped_column(String(36))
    question_number: Mapped[int] = mapped_column(Integer)
    met: Mapped[bool] = mapped_column(Boolean)


class AttemptMisconception(Base):
    """A misconception detected in an attempt."""

    __tablename__ = "attempt_misconception"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE"), primary_key=True
    )
    misconception_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The question is its uuid, as on the attempt; the number is what it was then, shown only.
    question_id: Mapped[str] = mapped_column(String(36), index=True)
    question_number: Mapped[int] = mapped_column(Integer)


class Instructor(Base):
    """Someone who reviews scores; signs in with an email and an argon2-hashed password."""

    __tablename__ = "instructor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class InstructorSession(Base):
    """A server-side instructor session, found by the hash of its cookie's random id."""

    __tablename__ = "instructor_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    instructor_id: Mapped[int] = mapped_column(
        ForeignKey("instructor.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class SetupToken(Base):
    """A one-time, expiring token that lets the first instructor create an account."""

    __tablename__ = "setup_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ChangeKind(StrEnum):
    """What changed an attempt's counted score; the values are what the table stores."""

    OVERRIDE = "override"
    CLAIM = "claim"  # a claim accepted
    CLAIM_REJECTED = "claim-rejected"  # the score unchanged, the note kept
    REVIEW = "review"  # a provisional score settled from the review queue, kept or changed
    REGRADE = "regrade"  # a re-grade moved an untouched attempt's counted score


class ScoreChange(Base):
    """One change of an attempt's counted score: who, when, old and new, and why."""

    __tablename__ = "score_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE"), index=True
    )
    instructor_id: Mapped[int | None] = mapped_column(
        ForeignKey("instructor.id", ondelete="SET NULL"), default=None
    )
    kind: Mapped[ChangeKind] = mapped_column(
        Enum(
            ChangeKind,
            native_enum=False,
            length=16,
            values_callable=lambda kinds: [kind.value for kind in kinds],
        )
    )
    old_score: Mapped[float] = mapped_column(Float)
    new_score: Mapped[float] = mapped_column(Float)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Claim(Base):
    """A learner's claim that their answer met a key point the grader missed."""

    __tablename__ = "claim"
    __table_args__ = (UniqueConstraint("attempt_id", "point_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE"), index=True
    )
    point_id: Mapped[str] = mapped_column(String(64))
    justification: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("instructor.id", ondelete="SET NULL"), default=None
    )
    # The score change its decision left: the score added, or the note of a rejection.
    score_change_id: Mapped[int | None] = mapped_column(
        ForeignKey("score_change.id", ondelete="SET NULL"), default=None
    )

    score_change: Mapped[ScoreChange | None] = relationship()


class ReferenceView(Base):
    """When a learner first saw a question's reference answer; later attempts are practice."""

    __tablename__ = "reference_view"

    learner_id: Mapped[int] = mapped_column(
        ForeignKey("learner.id", ondelete="CASCADE"), primary_key=True
    )
    question_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class QuizSetting(Base):
    """A quiz-wide setting chosen by an instructor, such as the reveal policy."""

    __tablename__ = "quiz_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class DemoRun(Base):
    """The latest result of a snippet on one TensorFlow version and kind of device."""

    __tablename__ = "demo_run"
    __table_args__ = (UniqueConstraint("snippet_hash", "tf_version", "device_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snippet_hash: Mapped[str] = mapped_column(String(64))
    tf_version: Mapped[str] = mapped_column(String(40))
    device_kind: Mapped[str] = mapped_column(String(10))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class RateLimitHit(Base):
    """One counted request in a rate-limit window, shared by every web process."""

    __tablename__ = "rate_limit_hit"
    __table_args__ = (Index("ix_rate_limit_hit_lookup", "bucket", "key", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PlaygroundRun(Base):
    """The audit log of the instructor playground: who ran what edited code, and how it went."""

    __tablename__ = "playground_run"
    # A demo's history: its newest runs.
    __table_args__ = (Index("ix_playground_run_demo", "question_id", "demo_index", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instructor_id: Mapped[int | None] = mapped_column(
        ForeignKey("instructor.id", ondelete="SET NULL"), index=True
    )
    # The question's uuid; null only on a run recorded before uuids were kept whose
    # question no attempt names (migration 0007), which is shown under its number.
    question_id: Mapped[str | None] = mapped_column(String(36), default=None)
    question_number: Mapped[int] = mapped_column(Integer)  # when run, shown only
    demo_index: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(Text)
    code_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


# Class modes (app.classes) and merged learner records (app.merging).


class RosterEntry(Base):
    """A learner the instructor listed; in roster mode only listed learners may start."""

    __tablename__ = "roster_entry"

    learner_id: Mapped[int] = mapped_column(
        ForeignKey("learner.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class LearnerMerge(Base):
    """One learner record merged into another: kept so the move can be explained later."""

    __tablename__ = "learner_merge"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The kept learner; null once that record is itself merged away or deleted.
    kept_id: Mapped[int | None] = mapped_column(
        ForeignKey("learner.id", ondelete="SET NULL"), index=True
    )
    merged_id: Mapped[int] = mapped_column(Integer)  # its row is gone: no foreign key
    merged_name: Mapped[str] = mapped_column(String(80))
    attempts_moved: Mapped[int] = mapped_column(Integer)
    instructor_id: Mapped[int | None] = mapped_column(
        ForeignKey("instructor.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


# --- LTI 1.3 (app/lti/): the platforms (LMSs) that may launch tfquiz --------------------


class LtiPlatform(Base):
    """An LMS registered to launch tfquiz: its issuer, our client id there and its URLs."""

    __tablename__ = "lti_platform"
    # A platform may register the tool more than once (a client id each), never twice alike.
    __table_args__ = (UniqueConstraint("issuer", "client_id", name="uq_lti_platform_client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(255))
    login_url: Mapped[str] = mapped_column(String(2000))  # the platform's OIDC auth endpoint
    token_url: Mapped[str] = mapped_column(String(2000))  # OAuth2 tokens for AGS and NRPS
    jwks_url: Mapped[str] = mapped_column(String(2000))  # the keys its id_tokens are signed with
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)

    deployments: Mapped[list[LtiDeployment]] = relationship(
        back_populates="platform",
        cascade="all, delete-orphan",
        order_by="LtiDeployment.deployment_id",
    )


class LtiDeployment(Base):
    """A deployment of the tool on a platform (a course or a whole site); launches name one."""

    __tablename__ = "lti_deployment"
    __table_args__ = (UniqueConstraint("platform_id", "deployment_id", name="uq_lti_deployment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id", ondelete="CASCADE"))
    deployment_id: Mapped[str] = mapped_column(String(255))

    platform: Mapped[LtiPlatform] = relationship(back_populates="deployments")


class LtiLaunchValue(Base):
    """What pylti1p3 keeps between the login and the launch (nonce, state), in the database,
    so that a launch may reach another web process than its login; each row expires."""

    __tablename__ = "lti_launch_value"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class LtiUser(Base):
    """A person of a platform (its ``sub``), and the learner and instructor they sign in as."""

    __tablename__ = "lti_user"
    __table_args__ = (UniqueConstraint("platform_id", "sub", name="uq_lti_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    learner_id: Mapped[int | None] = mapped_column(
        ForeignKey("learner.id", ondelete="SET NULL"), default=None, index=True
    )
    instructor_id: Mapped[int | None] = mapped_column(
        ForeignKey("instructor.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class LtiLink(Base):
    """A resource link in a course: where its launches go, and where its scores are sent."""

    __tablename__ = "lti_link"
    __table_args__ = (UniqueConstraint("platform_id", "resource_link_id", name="uq_lti_link"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platform.id", ondelete="CASCADE"))
    resource_link_id: Mapped[str] = mapped_column(String(255))
    deployment_id: Mapped[str] = mapped_column(String(255))
    context_id: Mapped[str | None] = mapped_column(String(255), default=None)
    title: Mapped[str | None] = mapped_column(String(255), default=None)
    question_id: Mapped[str | None] = mapped_column(String(36), default=None)  # None: the quiz
    # "total": one score for the quiz (or the link's question); "per-question": a line item each.
    grade_mode: Mapped[str] = mapped_column(String(16), default="total")
    ags_scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    lineitems_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    lineitem_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    # Names and Role Provisioning: the course's roster, synced by the background sender.
    memberships_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    roster_wanted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    roster_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    roster_error: Mapped[str | None] = mapped_column(Text, default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class LtiLinkUser(Base):
    """Who launched a link: their scores go to its line items."""

    __tablename__ = "lti_link_user"

    link_id: Mapped[int] = mapped_column(
        ForeignKey("lti_link.id", ondelete="CASCADE"), primary_key=True
    )
    lti_user_id: Mapped[int] = mapped_column(
        ForeignKey("lti_user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class LtiScoreSend(Base):
    """The outbox of scores for platforms: one row per score to send, then what was sent."""

    __tablename__ = "lti_score_send"
    # The sender's query: rows due, oldest first.
    __table_args__ = (Index("ix_lti_score_send_due", "status", "next_try_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("lti_link.id", ondelete="CASCADE"))
    lti_user_id: Mapped[int] = mapped_column(
        ForeignKey("lti_user.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str | None] = mapped_column(String(36), default=None)  # None: the total
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, failed
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    score_given: Mapped[float | None] = mapped_column(Float, default=None)
    score_maximum: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LearnerIdentity(Base):
    """What proves and separates a learner: their sign-in code's hash and their name's shape.

    The skeletons are unique, so two names that look alike cannot both be stored even when
    two sign-ups race; a learner from before skeletons whose name collided keeps NULL.
    """

    __tablename__ = "learner_identity"

    learner_id: Mapped[int] = mapped_column(
        ForeignKey("learner.id", ondelete="CASCADE"), primary_key=True
    )
    skeleton: Mapped[str | None] = mapped_column(String(400), unique=True, default=None)
    cased_skeleton: Mapped[str | None] = mapped_column(String(400), unique=True, default=None)
    code_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    code_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LearnerSession(Base):
    """A server-side learner session, found by the hash of the random token in the cookie."""

    __tablename__ = "learner_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    learner_id: Mapped[int] = mapped_column(
        ForeignKey("learner.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class PresentedSlide(Base):
    """The demo the presenter shows now: one row, read by every web process's followers.

    ``revision`` grows at each change (a navigation, a finished run), so a follower's
    stream sends the slide again only when it moved on; the question is kept by uuid, so
    renumbering the files does not change what is shown.
    """

    __tablename__ = "presented_slide"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1: there is one
    question_id: Mapped[str | None] = mapped_column(String(36), default=None)  # None: not yet
    demo_index: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class LiveRound(Base):
    """A question opened to the room: its attempts while open count; closing freezes figures."""

    __tablename__ = "live_round"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[str] = mapped_column(String(36), index=True)
    question_number: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    opened_by: Mapped[int | None] = mapped_column(
        ForeignKey("instructor.id", ondelete="SET NULL"), default=None
    )
    # True while open, NULL once closed: the unique constraint lets one round be open at a
    # time across every web process, as NULLs never collide.
    is_open: Mapped[bool | None] = mapped_column(Boolean, unique=True, default=True)
    # Bumped on every change that is not an attempt (a pick, a demo run), so a live view
    # polling the row sees it; the attempts' own ids tell of new answers.
    version: Mapped[int] = mapped_column(Integer, default=0)
    # The demo the presenter ran last for the screen, and how many times demos were run.
    demo_index: Mapped[int | None] = mapped_column(Integer, default=None)
    demo_runs: Mapped[int] = mapped_column(Integer, default=0)
    # The figures as they stood at closing; a closed round reads only these.
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)


class RoundPick(Base):
    """An answer the presenter chose to show the room, anonymised on the screen."""

    __tablename__ = "round_pick"

    round_id: Mapped[int] = mapped_column(
        ForeignKey("live_round.id", ondelete="CASCADE"), primary_key=True
    )
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempt.id", ondelete="CASCADE"), primary_key=True
    )
    picked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
