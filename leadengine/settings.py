"""Typed settings from the environment (and `.env`), contract §2, built once per process."""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as _PydanticSettingsError

from leadengine.errors import SettingsError

SearchProvider = Literal["serper", "brave", "serpapi", "google_cse"]


class Settings(BaseSettings):
    """Every setting the function, the relay and the runner read. Names are the upper-cased field names."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    # Broker (names from the seed).
    rabbitmq_host: str = Field("localhost", min_length=1)
    rabbitmq_port: int = Field(5672, ge=1, le=65535)
    rabbitmq_user: str = Field("guest", min_length=1)
    rabbitmq_password: SecretStr = SecretStr("guest")
    rabbitmq_vhost: str = Field("/", min_length=1)
    # AMQP heartbeat; the runner's long jobs run off the connection thread so heartbeats keep flowing.
    rabbitmq_heartbeat_s: int = Field(60, ge=1, le=600)
    # The longest any publish waits for the broker's confirm, retries included: a broker that stops answering
    # with its socket open must cost a request this much, not minutes.
    publish_timeout_s: float = Field(5.0, gt=0, le=60)

    # Firestore.
    google_cloud_project: str = Field("leadengine-local", min_length=1)
    firestore_emulator_host: str | None = None
    # Per-call deadline: a Firestore outage must turn into a 503 quickly, not a hung request.
    firestore_timeout_s: float = Field(5.0, gt=0, le=60)

    # API.
    api_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    # Shared secret for the outbox relay route (Cloud Scheduler sends it); unset disables the route.
    relay_token: SecretStr | None = None
    # A pending job younger than this is left to the request that is publishing it.
    outbox_grace_s: float = Field(10.0, ge=0, le=3600)
    relay_interval_s: float = Field(5.0, gt=0, le=3600)
    # An unfinished job with no sign of life this long, whose message the broker no longer has, is published
    # again (§9; leadengine/stalls.py).
    job_stall_s: float = Field(900.0, gt=0, le=7 * 24 * 3600)

    # Search and scraping (contract §6).
    search_provider: SearchProvider = "serper"
    search_api_url: str | None = None
    search_api_key: SecretStr | None = None
    search_engine_id: str | None = None
    scrape_allow_private_networks: bool = False
    scrape_user_agent: str = Field("LeadEngineBot/0.1 (+https://leadengine.example/bot)", min_length=1)
    # Sites read at once within one job. Politeness is per site (one request at a time, the delay between),
    # so concurrency across sites is what is cheap: a thread and a small connection pool each, ~1 MiB.
    scrape_max_sites: int = Field(32, ge=1, le=64)
    scrape_connect_timeout_s: float = Field(5.0, gt=0, le=60)
    scrape_read_timeout_s: float = Field(10.0, gt=0, le=120)
    scrape_site_timeout_s: float = Field(30.0, gt=0, le=600)  # total per site, all its pages
    scrape_max_page_bytes: int = Field(2_000_000, ge=1024, le=50_000_000)
    scrape_politeness_delay_s: float = Field(0.5, ge=0, le=60)  # between two requests to one site
    search_timeout_s: float = Field(20.0, gt=0, le=120)  # one search API call (read), the provider's latency
    # The longest Retry-After a search call waits out itself on a provider's rate limit; longer ones fail
    # the attempt (transient) and the runner retries the job later.
    search_rate_limit_wait_s: float = Field(20.0, ge=0, le=300)
    scrape_dns_timeout_s: float = Field(5.0, gt=0, le=60)  # one DNS lookup for a site fetch
    # A site's Retry-After (429/503) is waited out up to this long; a longer one, or a third 429, gives the site up.
    scrape_max_retry_after_s: float = Field(10.0, ge=0, le=120)
    # --- scraping settings above (owned by runner/scrape) ---

    # Runner.
    job_max_attempts: int = Field(3, ge=1, le=100)
    job_timeout_s: float = Field(600.0, gt=0, le=1700)  # under RabbitMQ's 30-minute consumer_timeout
    job_retry_delays_s: Annotated[tuple[int, ...], NoDecode] = (10, 60, 300)
    runner_shutdown_grace_s: float = Field(25.0, ge=0, le=3600)
    runner_metrics_port: int = Field(9100, ge=0, le=65535)  # 0 disables the /metrics server
    runner_lease_s: float = Field(60.0, ge=1, le=3600)
    runner_handler: str = Field("runner.scrape.handler:handle", pattern=r"^[\w.]+:[\w]+$")
    # A handler that ignores checkpoints this long past JOB_TIMEOUT_S is given up on (the job fails with
    # `timeout` and the runner exits for a clean restart: a Python thread cannot be stopped).
    runner_stuck_grace_s: float = Field(30.0, ge=0, le=600)
    # Loopback by default (a dev box); the container image sets 0.0.0.0 so Prometheus can scrape it.
    runner_metrics_addr: str = Field("127.0.0.1", min_length=1)
    runner_id: str | None = None  # shown on the job as the runner that holds it; default hostname-pid
    # --- runner settings above (owned by runner/) ---

    # Fair share between users (contract §8, leadengine/fairshare.py). The function, the relay and the runners must
    # agree on both: the cap decides how many of a user's jobs may be in the broker at once (published, waiting or
    # running), and so how many of them run at once.
    user_max_running_jobs: int = Field(4, ge=1, le=1000)
    user_max_active_jobs: int = Field(500, ge=1, le=1_000_000)  # queued or running; past it a submit is 429

    # Webhooks (contract §7): off while no signing key is set; each user's secret is derived from the key.
    webhook_signing_key: SecretStr | None = None
    webhook_retry_delays_s: Annotated[tuple[int, ...], NoDecode] = (10, 60, 300, 1800, 7200, 21600)
    # --- webhook settings above (owned by leadengine/webhooks.py) ---

    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("api_keys", mode="before")
    @classmethod
    def _parse_api_keys(cls, value: Any) -> Any:
        if value is None or value == "":
            return {}
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as e:
                raise ValueError('must be a JSON object {"<api key>": "<user_id>"}') from e
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in value.items()
        ):
            raise ValueError('must be a JSON object {"<api key>": "<user_id>"} of non-empty strings')
        return value

    @field_validator("job_retry_delays_s", "webhook_retry_delays_s", mode="before")
    @classmethod
    def _parse_delays(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = tuple(int(part) for part in value.split(",") if part.strip())
            except ValueError as e:
                raise ValueError("must be comma-separated whole seconds, e.g. 10,60,300") from e
        if not value or any(int(v) < 0 for v in value):
            raise ValueError("must be one or more non-negative whole seconds, e.g. 10,60,300")
        return value

    @field_validator("webhook_signing_key")
    @classmethod
    def _strong_key(cls, value: SecretStr | None) -> SecretStr | None:
        # A short key makes every user's secret guessable; unset (not empty) is how webhooks are turned off.
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError(
                "must be at least 16 characters (e.g. `openssl rand -hex 32`), or unset to turn webhooks off"
            )
        return value

    @property
    def webhooks_enabled(self) -> bool:
        return self.webhook_signing_key is not None

    def amqp_url_for_logs(self) -> str:
        return f"amqp://{self.rabbitmq_user}@{self.rabbitmq_host}:{self.rabbitmq_port}/{self.rabbitmq_vhost}"


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    return f"invalid setting {name}: {first['msg']}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning any problem into a SettingsError whose message names the variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as e:
        raise SettingsError(_one_line(e)) from None
    except _PydanticSettingsError as e:  # pydantic-settings' own decoding errors name the field too
        raise SettingsError(f"invalid setting: {e}") from None
    return settings


@functools.cache
def get_settings() -> Settings:
    """The process's settings, built once."""
    return load_settings()


def settings_or_exit() -> Settings:
    """For entry points: the settings, or exit with one line naming the bad variable."""
    try:
        return get_settings()
    except SettingsError as e:
        raise SystemExit(f"leadengine: {e}") from None
