"""Every name the program gives: resources, the app's identity, stack keys read outside the model, URNs.

The program (``storage.py``, ``program.py``), the outputs' checks (``outputs.py``) and the scripts
(``rotate-key``) all read them here, so renaming a resource cannot leave a URN or a check behind. This module
must not import pulumi.
"""

from __future__ import annotations

PROJECT = "ephitup"
STORAGE_COMPONENT_TYPE = f"{PROJECT}:storage:MediaStorage"
STORAGE_COMPONENT = "media"  # the component's name; its children are named after it
CDN_COMPONENT_TYPE = f"{PROJECT}:cdn:AudioCdn"  # a child of the storage component, named media-cdn
CI_COMPONENT_TYPE = f"{PROJECT}:ci:CiAccess"  # CI's roles, in the stack with ephitup:ciRoles
ACCESS_KEY = "app-key"  # the app user's access key, a child of the component
IAM_PATH = "/ephitup/"
# A secret stack key read with get_secret: the typed model holds no secrets.
RENDER_API_KEY_CONFIG = "renderApiKey"


def child(component: str, part: str) -> str:
    """A child resource's name: the component's, then the part (``media-app-key``)."""
    return f"{component}-{part}"


def app_identity(stack: str) -> str:
    """The app's IAM user or role: ``ephitup-<stack>-app``, under ``IAM_PATH``."""
    return f"{PROJECT}-{stack}-app"


def bucket_prefix(stack: str) -> str:
    """Where a generated bucket name starts (AWS appends a unique suffix)."""
    return f"{PROJECT}-{stack}-"


def default_access_point(stack: str) -> str:
    return f"{PROJECT}-{stack}"


def access_key_urn(stack: str) -> str:
    """The URN of the app user's access key, which ``rotate-key`` replaces."""
    return (f"urn:pulumi:{stack}::{PROJECT}::{STORAGE_COMPONENT_TYPE}$aws:iam/accessKey:AccessKey::"
            f"{child(STORAGE_COMPONENT, ACCESS_KEY)}")
