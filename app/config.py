"""Typed settings read from ``TFQUIZ_*`` environment variables."""

from __future__ import annotations

import secrets
import sys
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.datafiles import make_private_dir, make_private_file
from app.machine import demo_workers_for, this_machine

SOURCE_ROOT = Path(__file__).resolve().parent.parent
# A source checkout keeps templates/, static/ and questions/ beside app/; an installed
# wheel carries them in <prefix>/share/tfquiz (pyproject.toml's data-files).
PROJECT_ROOT = (
    SOURCE_ROOT
    if (SOURCE_ROOT / "templates").is_dir()
    else Path(sys.prefix).resolve() / "share" / "tfquiz"
)


AUTO = ("auto", "", None)  # TFQUIZ_DEMO_WORKERS values that ask for the machine's count


class Settings(BaseSettings):
    """Every knob of the app, each with a safe default."""

    model_config = SettingsConfigDict(env_prefix="TFQUIZ_", extra="ignore")

    data_dir: Path = Field(
        default=PROJECT_ROOT / "var",
        description="Folder for the SQLite file and the generated secret key.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database; defaults to an SQLite file in data_dir.",
    )
    questions_dir: Path = Field(
        default=PROJECT_ROOT / "questions",
        description="Folder of question markdown files.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs session cookies; generated and kept in data_dir when unset.",
    )
    host: str = Field(default="127.0.0.1", description="Address `tfquiz serve` binds to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `tfquiz serve` binds to.")
    max_answer_chars: int = Field(
        default=10_000, ge=1, description="Longest answer accepted, in characters."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body accepted, in bytes."
    )
    session_cookie: str = Field(
        default="tfquiz_session", description="Name of the signed learner session cookie."
    )
    session_max_age_days: int = Field(
        default=180, ge=1, description="How long a learner's browser stays recognised."
    )
    cookie_secure: bool = Field(
        default=False, description="Send cookies over HTTPS only; turn on behind TLS."
    )
    sqlite_busy_timeout_ms: int = Field(
        default=5000, ge=0, description="How long an SQLite writer waits for a lock."
    )
    sqlite_synchronous: Literal["normal", "full"] = Field(
        default="normal",
        description="SQLite's fsync policy: normal survives a crash of the server, full also "
        "a power cut.",
    )

    demo_workers: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Warm TensorFlow worker processes per web process (0: no demos); unset or "
        "auto: from the machine's cores, memory and GPUs (docs/deploy.md).",
    )
    demo_queue_size: int = Field(
        default=200,
        ge=0,
        description="Demo runs that may wait for a worker before 503 (a class's burst fits).",
    )
    demo_queue_wait_s: float = Field(
        default=120, gt=0, description="Longest a queued demo run waits for a worker."
    )
    demo_timeout_s: float = Field(
        default=30, gt=0, description="Time limit of one demo run; the worker is replaced."
    )
    demo_max_output_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Output cap of one demo run, in bytes."
    )
    demo_recycle_after: int = Field(
        default=100, ge=1, description="Runs after which a worker is replaced by a fresh one."
    )
    demo_start_timeout_s: float = Field(
        default=120, gt=0, description="How long a new worker may take to import TensorFlow."
    )
    demo_worker_tf: bool = Field(
        default=True,
        description="Import TensorFlow in each worker; off only for tests of plain snippets.",
    )

    demo_sandbox: Literal["auto", "bwrap", "rlimits"] = Field(
        default="auto",
        description="Worker containment: bwrap namespaces, or rlimits only; auto picks bwrap.",
    )
    demo_memory_mb: int = Field(
        default=4096,
        ge=2560,
        description="Address-space cap of a worker; TensorFlow aborts below about 2.5 GiB.",
    )
    demo_max_processes: int = Field(
        default=512,
        ge=64,
        description="Processes and threads of the sandbox user; TensorFlow needs dozens.",
    )
    demo_max_file_mb: int = Field(default=64, ge=1, description="Largest file a snippet writes.")
    demo_max_open_files: int = Field(
        default=1024, ge=64, description="Open files a worker may hold."
    )
    demo_tmp_mb: int = Field(
        default=256, ge=16, description="Size of a sandboxed worker's private /tmp."
    )
    demo_log_bytes_per_minute: int = Field(
        default=16 * 1024,
        ge=1024,
        description="Bytes of stderr one worker may log per minute; the rest is counted.",
    )
    answer_limit_per_learner: int = Field(
        default=30, ge=1, description="Answers one learner may submit per minute."
    )
    answer_limit_per_address: int = Field(
        default=600,
        ge=1,
        description="Answers per minute from one client address (a class may share one).",
    )
    start_limit_per_address: int = Field(
        default=100,
        ge=1,
        description="Learner sign-ups and sign-ins (/start, /continue) per minute per address.",
    )
    signin_window_minutes: int = Field(
        default=15, ge=1, description="Window over which a learner's wrong sign-in codes count."
    )
    signin_failures_per_name: int = Field(
        default=10,
        ge=1,
        description="Wrong sign-in codes for one learner's name, from any address, per window.",
    )
    signin_failures_per_address: int = Field(
        default=30,
        ge=1,
        description="Wrong sign-in codes from one client address, for any names, per window.",
    )
    claim_limit_per_learner: int = Field(
        default=10, ge=1, description="Claims one learner may send per minute."
    )
    claim_limit_per_address: int = Field(
        default=100, ge=1, description="Claims per minute from one client address."
    )
    demo_limit_per_session: int = Field(
        default=20, ge=1, description="Live demo runs one browser session may start per minute."
    )
    demo_limit_per_address: int = Field(
        default=120, ge=1, description="Live demo runs per minute from one client address."
    )
    demo_in_flight_per_client: int = Field(
        default=10,
        ge=1,
        description="Live demo runs one client (a browser session; an address, for a client "
        "without cookies) may have running or queued at once: its lane in the fair queue.",
    )
    follow_max_streams: int = Field(
        default=500,
        ge=1,
        description="Follow-along pages one web process streams to at once; past it, 503.",
    )
    follow_poll_s: float = Field(
        default=0.5,
        gt=0,
        le=10,
        description="How often a web process reads the presented slide for its followers.",
    )
    playground: bool = Field(
        default=False,
        description="Let instructors edit a demo and run the edited code live, in the sandbox.",
    )
    playground_limit_per_minute: int = Field(
        default=20,
        ge=1,
        description="Playground runs per minute, counted per instructor and per client address.",
    )
    instructor_idle_minutes: int = Field(
        default=120, ge=1, description="An instructor session ends after this long unused."
    )
    instructor_session_hours: int = Field(
        default=12, ge=1, description="An instructor session ends this long after sign-in."
    )
    setup_token_minutes: int = Field(
        default=60, ge=1, description="How long the first-instructor setup link stays valid."
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="Window over which failed sign-ins are counted."
    )
    login_max_per_account: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins per account from one client address within the window.",
    )
    login_max_per_address: int = Field(
        default=20, ge=1, description="Failed sign-ins per client address within the window."
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxy addresses whose X-Forwarded-For is believed; empty: none.",
    )
    workers: int = Field(
        default=1, ge=1, le=64, description="Web processes `tfquiz serve` starts (uvicorn workers)."
    )
    shutdown_timeout_s: int = Field(
        default=30, ge=1, description="How long a stopping server lets requests in flight finish."
    )
    # The server faces clients directly: bounds on what one connection may hold (app/web/server.py).
    max_header_bytes: int = Field(
        default=32 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest request line and headers accepted, in bytes; then 431.",
    )
    max_headers: int = Field(
        default=100, ge=10, le=10_000, description="Most header fields in a request; then 431."
    )
    request_header_timeout_s: float = Field(
        default=10,
        gt=0,
        le=300,
        description="Time a client gets to send a request's head; then 408 and closed.",
    )
    request_body_timeout_s: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="Time a client gets to send a request's body once its head is in.",
    )
    max_connections: int = Field(
        default=2048,
        ge=1,
        description="Open client connections per web process; past it, 503 with Retry-After.",
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines for people (text) or one JSON object per line."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Least severe log level written."
    )
    access_log: bool = Field(default=True, description="Log one line per request.")
    reload_templates: bool = Field(
        default=False,
        description="Re-read templates when their files change; `tfquiz serve --reload` sets it.",
    )
    metrics: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    metrics_token: str | None = Field(
        default=None,
        description="Bearer token /metrics requires; unset: only loopback clients may read it.",
    )
    # LTI 1.3 (docs/lti.md): tfquiz as a tool that courses in an LMS launch.
    lti_key_overlap_hours: int = Field(
        default=72,
        ge=1,
        le=24 * 90,
        description="How long /lti/jwks keeps serving a rotated-out tool key, for platforms "
        "that cache it.",
    )
    lti_send_interval_s: float = Field(
        default=5, gt=0, le=3600, description="How often scores due are sent to LMSs."
    )
    lti_send_retry_s: float = Field(
        default=30,
        gt=0,
        le=86_400,
        description="Wait after a first failed send to an LMS; doubled after each failure.",
    )
    lti_send_max_tries: int = Field(
        default=10, ge=1, le=100, description="Tries before a score shows as failed."
    )
    lti_roster_minutes: float = Field(
        default=5,
        ge=0,
        le=24 * 60,
        description="Least time between two roster syncs of a course link asked for by launches.",
    )
    housekeeping_minutes: float = Field(
        default=60,
        ge=0,
        le=24 * 60,
        description="How often each web process deletes expired sessions and old rate-limit "
        "counts; 0 never (then run `tfquiz prune` from cron).",
    )
    lti_allow_http_loopback: bool = Field(
        default=False,
        description="Accept http:// platform URLs on this machine (127.0.0.1, localhost), "
        "for a test platform; every other URL must be https://.",
    )

    @model_validator(mode="before")
    @classmethod
    def _size_demo_pool(cls, data: Any) -> Any:
        """Size the demo pool from the machine when TFQUIZ_DEMO_WORKERS is unset or ``auto``.

        An explicit number wins, 0 included (no demos); bad values are left for the field
        to refuse.
        """
        if not isinstance(data, dict) or data.get("demo_workers", "auto") not in AUTO:
            return data
        web = data.get("workers", 1)
        web_processes = int(web) if str(web).isdigit() else 1
        return {**data, "demo_workers": demo_workers_for(this_machine(), web_processes)}

    @cached_property
    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to an SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir.resolve() / 'tfquiz.sqlite3'}"

    @cached_property
    def resolved_secret_key(self) -> str:
        """Return the secret key, creating and keeping one in the data folder when unset."""
        if self.secret_key and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        return load_or_create_secret(self.data_dir / "secret_key")


def load_or_create_secret(path: Path) -> str:
    """Read the key at ``path``, or write a new random one readable only by its owner."""
    if path.exists():
        make_private_file(path)  # one written by an older version may be readable by all
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    make_private_dir(path.parent)
    key = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)  # a leftover from an interrupted write may be 0644
    make_private_file(tmp)
    tmp.write_text(key, encoding="utf-8")
    tmp.replace(path)
    return key
