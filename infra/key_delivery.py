"""``RenderKeyDelivery``: ``pulumi up`` puts the app's access key pair on its Render service itself.

A dynamic resource whose inputs are the key pair (secret) and the service. Creating or updating it sets
``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY`` on the service, starts a deploy and waits until the
deploy is live. Replacing the access key (``pulumi up --replace <key urn>`` or ``ephitup rotate-key``)
therefore goes: new key created, this resource updated (the service now runs on the new key), and only
then, at the end of the update, the old key deleted. Deleting the resource removes both variables (a
stale pair would also shadow OIDC credentials in the AWS chain).

A stack's first ``pulumi up`` comes before its service: the blueprint renders a stack with S3 on only once
its outputs exist. Until Render has the service, the delivery waits (``delivered_to`` empty, the output
``keys_delivered_to`` too) and the next ``pulumi up`` delivers.

The Render API key is read from ``RENDER_API_KEY`` in the provider's process, so it is in neither the
state nor a diff; or, for a team that keeps it with the stack, from the secret stack key
``ephitup:renderApiKey``, which is then a secret input (encrypted in the state, ``[secret]`` in a diff,
and not a change that redeploys anything).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from infra.render_api import RenderApi

ENV_KEYS = {"AWS_ACCESS_KEY_ID": "access_key_id", "AWS_SECRET_ACCESS_KEY": "secret_access_key"}
SECRET_PROPS = ("access_key_id", "secret_access_key")
COMPARED = ("service_name", "service_id", *SECRET_PROPS)


class KeyDeliveryProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        service_id = _deliver(props)
        return CreateResult(id_=service_id or f"waiting-for-{props['service_name']}",
                            outs={**props, "delivered_to": service_id})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = [name for name in COMPARED if olds.get(name) != news.get(name)]
        waiting = not olds.get("delivered_to")
        return DiffResult(changes=bool(changed) or waiting, replaces=[], stables=[], delete_before_replace=False)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**news, "delivered_to": _deliver(news)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if not props.get("delivered_to"):
            return  # never delivered: nothing on any service
        with RenderApi(props.get("api_key") or None) as api:
            for key in ENV_KEYS:
                api.delete_env_var(props["delivered_to"], key)


def _deliver(props: dict[str, Any]) -> str:
    """Both variables on the service, a deploy, and its going live; the service's id ("" while Render has no
    service of that name yet)."""
    with RenderApi(props.get("api_key") or None) as api:
        service_id = props.get("service_id") or api.service_id(props["service_name"])
        if service_id is None:
            return ""
        for key, prop in ENV_KEYS.items():
            api.set_env_var(service_id, key, props[prop])
        api.wait_until_live(service_id, api.deploy(service_id))
        return str(service_id)


class RenderKeyDelivery(Resource):
    delivered_to: pulumi.Output[str]

    def __init__(self, name: str, service_name: str, service_id: str, access_key_id: pulumi.Input[str],
                 secret_access_key: pulumi.Input[str], api_key: pulumi.Output[str] | None = None,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        props: dict[str, Any] = {
            "service_name": service_name,
            "service_id": service_id,
            "access_key_id": pulumi.Output.secret(access_key_id),
            "secret_access_key": pulumi.Output.secret(secret_access_key),
            "delivered_to": None,
        }
        if api_key is not None:
            props["api_key"] = pulumi.Output.secret(api_key)
        secret = pulumi.ResourceOptions(additional_secret_outputs=[*SECRET_PROPS, *(["api_key"] if api_key else [])])
        super().__init__(KeyDeliveryProvider(), name, props, pulumi.ResourceOptions.merge(opts, secret))
