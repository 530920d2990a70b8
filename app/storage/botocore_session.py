"""The botocore session every S3 and STS client is built from, with two start-up costs removed.

botocore's defaults walk every service's model folder before loading one, and load the CA bundle once
per connection; neither buys this app anything. Imported only when a client is made.
"""

from __future__ import annotations

import os
import ssl
import threading
import weakref
from typing import Any

from botocore.exceptions import DataNotFoundError
from botocore.httpsession import URLLib3Session
from botocore.loaders import Loader
from botocore.session import Session


class AppServicesLoader(Loader):
    """botocore's data loader, told which services the app calls (S3, and STS for a web identity).

    Before loading any model botocore lists every service it ships that has one (about 440 folders, ~20 ms
    of each process' start) only to check the name asked for; this looks in the two folders instead."""

    SERVICES = ("s3", "sts")

    def list_available_services(self, type_name: str) -> list[str]:
        return [name for name in self.SERVICES if self._has(name, type_name)]

    def _has(self, service: str, type_name: str) -> bool:
        try:
            return bool(self.list_api_versions(service, type_name))
        except DataNotFoundError:
            return False


def botocore_session() -> Session:
    """A botocore session loading its models with ``AppServicesLoader`` (AWS_DATA_PATH still honoured)."""
    session = Session()
    extra = session.get_config_variable("data_path")
    paths = [os.path.expanduser(os.path.expandvars(path)) for path in (extra or "").split(os.pathsep) if path]
    session.register_component("data_loader", AppServicesLoader(extra_search_paths=paths))
    return session


class TrustLoadedOnce(URLLib3Session):
    """botocore's HTTP session, loading the CA bundle it verifies S3 with into its SSL context only once.

    botocore names the bundle on every connection pool, and urllib3 loads it into the shared context again
    for every connection it opens (botocore#3171, urllib3#3623): ~17 ms of CPU per connection with
    certifi's 170 roots, more than half a CPU-second for a 32-connection migration. Here the first https
    send loads it; pools then name none, and connections verify against the context that holds it."""

    _lock = threading.Lock()
    _loaded: weakref.WeakKeyDictionary[ssl.SSLContext, str] = weakref.WeakKeyDictionary()

    def _setup_ssl_cert(self, conn: Any, url: str, verify: Any) -> None:
        super()._setup_ssl_cert(conn, url, verify)
        bundle, context = conn.ca_certs, getattr(conn, "conn_kw", {}).get("ssl_context")
        if bundle and context is not None:
            with self._lock:
                if self._loaded.get(context) != bundle:
                    context.load_verify_locations(bundle)
                    self._loaded[context] = bundle
            conn.ca_certs = None


def loading_trust_once(client: Any) -> Any:
    """``client`` with its HTTP session made a ``TrustLoadedOnce`` (botocore offers no way to pass one in)."""
    client._endpoint.http_session.__class__ = TrustLoadedOnce
    return client
