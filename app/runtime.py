"""The composition root: the only place that builds storage backends, records and services.

The app (``app.startup``), every CLI command (``Runtime.open``, ``s3_storage``, ``open_records``) and the
seed's compatibility functions get their parts here, so there is one way to assemble them and one message
when S3 is required but not configured. Nothing here runs: the loops belong to their objects
(``app.background``, ``app.health.Watch``), the start-up checks to ``app.startup``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from app.background import Gate, Reconciler
from app.backups import RecordsBackups
from app.databases import open_database
from app.episodes import Episodes
from app.health import HealthLimits, Watch
from app.metrics import Metrics
from app.records import Records
from app.settings import Settings, SettingsError
from app.sources import Sources
from app.storage import LocalStorage, StorageError
from app.storage.s3_config import Credentials, S3Config
from app.storage.stores import Stores
from app.variables import Secret

if TYPE_CHECKING:
    from app.storage.cdn import CloudFrontSigner
    from app.storage.s3 import S3Storage

BREAKER_SECONDS = 10.0


def s3_config(settings: Settings) -> S3Config:
    """The narrow configuration the S3 backend is built from."""
    target = settings.s3_target or ""
    return S3Config(
        bucket=settings.bucket_name or target, access_point=settings.access_point, region=settings.region,
        endpoint_url=settings.endpoint_url,
        credentials=Credentials(settings.access_key_id, settings.secret_access_key, settings.session_token,
                                settings.role_arn if settings.uses_role else None),
        connect_timeout=settings.connect_timeout, read_timeout=settings.read_timeout,
        max_attempts=settings.max_attempts, max_connections=settings.max_connections,
        # S3 is not called again for a moment after it failed to answer: at most until the reconciler's next pass.
        breaker_seconds=min(settings.reconcile_interval, BREAKER_SECONDS))


def s3_storage(settings: Settings, on_error: Callable[[StorageError], None] = lambda error: None) -> S3Storage:
    """The configured object store; the one refusal when S3 is needed and not set up."""
    missing = settings.missing_s3_settings()
    if missing:
        raise SettingsError(f"S3 is not configured: {', '.join(missing)} not set (run with the app's environment, "
                            "e.g. `set -a; . ./.env; set +a`)")
    from app.storage.s3 import S3Storage  # botocore is imported only where S3 is used

    return S3Storage(s3_config(settings), on_error=on_error)


def open_records(settings: Settings, url: Secret | None) -> Records:
    """The records: PostgreSQL at ``url``, or SQLite ``app.db`` in the data folder."""
    return Records(open_database(url.get_secret_value() if url else None, settings.data_folder,
                                 settings.database_statement_seconds))


def cdn_signer(settings: Settings) -> CloudFrontSigner | None:
    domain, key_id, private_key = settings.cdn_domain, settings.cdn_key_id, settings.cdn_private_key
    if settings.audio_delivery != "cdn" or not (domain and key_id and private_key):
        return None
    from app.storage.cdn import CloudFrontSigner  # cryptography is loaded only where the CDN is used

    return CloudFrontSigner(domain, key_id, private_key.get_secret_value())


@dataclass
class Runtime:
    """The app's parts, built once by ``open``; ``close`` waits for a background pass, then closes the records."""

    settings: Settings
    records: Records
    stores: Stores
    episodes: Episodes
    sources: Sources
    metrics: Metrics
    reconciler: Reconciler
    watch: Watch
    gate: Gate
    backups: RecordsBackups
    cdn: CloudFrontSigner | None = None  # AUDIO_DELIVERY=cdn

    @classmethod
    def open(cls, settings: Settings | None = None, require_s3: bool = False) -> Runtime:
        """Records and stores as the environment selects them (``require_s3``: S3 or a ``SettingsError``)."""
        settings = settings or Settings.from_env()
        records = open_records(settings, settings.database_url)
        metrics = Metrics(settings.data_folder, pending=lambda: records.pending_summary()[0],
                          backup_age=lambda: backups.age())
        remote = s3_storage(settings, metrics.s3_error) if settings.storage.mode == "s3" or require_s3 else None
        stores = Stores(LocalStorage(settings.data_folder), remote, scaled=settings.topology == "scaled")
        episodes = Episodes(records, stores, observe=metrics.finalize)
        gate = Gate()
        reconciler = Reconciler(episodes, gate, settings.reconcile_interval)
        limits = HealthLimits(settings.health_check_seconds, settings.pending_alert_minutes * 60,
                              settings.disk_degraded_percent, settings.disk_error_percent)
        # The bucket when S3 is on: a copy on the disk it backs up would go with the disk.
        backups = RecordsBackups(records, remote or stores.local, gate, settings.records_backup_minutes * 60)
        watch = Watch(records, stores, gate, limits, reconciler, backups)
        return cls(settings, records, stores, episodes, Sources(records, stores), metrics, reconciler, watch, gate,
                   backups, cdn_signer(settings))

    def target_records(self) -> Records:
        """``TARGET_DATABASE_URL``'s PostgreSQL, which ``migrate to-scaled`` copies the records into."""
        if self.settings.target_database_url is None:
            raise SettingsError("set TARGET_DATABASE_URL to the new Render Postgres' internal connection string (its "
                                "Info page), in this shell only")
        return open_records(self.settings, self.settings.target_database_url)

    def close(self) -> None:
        self.gate.close(self.records.close)

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
