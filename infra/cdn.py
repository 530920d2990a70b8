"""``AudioCdn``: CloudFront in front of the bucket, for ``ephitup:cdn``.

The distribution reads the bucket through Origin Access Control (SigV4, every request signed; no Origin
Access Identity), answers viewers over HTTPS only, and serves nothing without a URL signed by the key
its key group trusts: the audio prefix has a behaviour of its own, and the default one is locked the same
way. Range requests are CloudFront's own (it fetches and caches ranges from the origin); the cache key
holds neither query string nor header, so the signing parameters never split the cache. The key pair is
made by the program (``pulumi-tls``): the public half goes to CloudFront, the private half stays in the
stack's state as a secret output for the Render service (``CDN_PRIVATE_KEY``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_tls as tls

from infra import names

AUDIO_PATTERN = "episodes/*"  # the app's audio prefix (policies.APP_PREFIXES), as a CloudFront path pattern
ORIGIN = "bucket"
DAY = 86_400


@dataclass(frozen=True)
class AudioCdnArgs:
    origin_domain: pulumi.Input[str]  # the bucket's regional domain name
    price_class: str
    stack: str


class AudioCdn(pulumi.ComponentResource):
    distribution: aws.cloudfront.Distribution
    public_key: aws.cloudfront.PublicKey
    private_key_pem: pulumi.Output[str]

    def __init__(self, name: str, args: AudioCdnArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(names.CDN_COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        label = f"{names.PROJECT}-{args.stack}"
        signing_key = tls.PrivateKey(f"{name}-signing-key", algorithm="RSA", rsa_bits=2048,
                                     opts=pulumi.ResourceOptions(parent=self,
                                                                 additional_secret_outputs=["private_key_pem"]))
        self.private_key_pem = pulumi.Output.secret(signing_key.private_key_pem)
        self.public_key = aws.cloudfront.PublicKey(f"{name}-public-key", name=f"{label}-audio",
                                                   encoded_key=signing_key.public_key_pem, opts=child)
        key_group = aws.cloudfront.KeyGroup(f"{name}-key-group", name=f"{label}-audio", items=[self.public_key.id],
                                            opts=child)
        access = aws.cloudfront.OriginAccessControl(
            f"{name}-origin-access", name=f"{label}-bucket", origin_access_control_origin_type="s3",
            signing_behavior="always", signing_protocol="sigv4", opts=child)
        cache = aws.cloudfront.CachePolicy(
            f"{name}-cache", name=f"{label}-audio", min_ttl=0, default_ttl=DAY, max_ttl=365 * DAY,
            parameters_in_cache_key_and_forwarded_to_origin={
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "none"},
            },
            opts=child)
        behaviour: dict[str, Any] = {"target_origin_id": ORIGIN, "viewer_protocol_policy": "https-only",
                     "allowed_methods": ["GET", "HEAD"], "cached_methods": ["GET", "HEAD"],
                     "cache_policy_id": cache.id, "trusted_key_groups": [key_group.id], "compress": False}
        distribution: dict[str, Any] = {  # plain dicts, as pulumi-aws takes them (its TypedDicts are stricter)
            "enabled": True, "comment": f"{label}: audio", "price_class": args.price_class,
            "http_version": "http2and3", "is_ipv6_enabled": True,
            "origins": [{"domain_name": args.origin_domain, "origin_id": ORIGIN,
                         "origin_access_control_id": access.id}],
            "default_cache_behavior": behaviour,
            "ordered_cache_behaviors": [{**behaviour, "path_pattern": AUDIO_PATTERN}],
            "restrictions": {"geo_restriction": {"restriction_type": "none"}},
            "viewer_certificate": {"cloudfront_default_certificate": True},
        }
        self.distribution = aws.cloudfront.Distribution(f"{name}-distribution", **distribution, opts=child)
        self.register_outputs({"domain": self.distribution.domain_name, "key_id": self.public_key.id})
