"""One environment (a Pulumi stack) as one typed model, read from ``pulumi.Config`` or the stack file.

Each field's alias is its stack key (``ephitup:s3Enabled``), with its type, default, bounds and meaning;
``Pulumi.yaml``'s config block is generated from this model (``infra/project_file.py``). Pulumi's mocks do not apply
``Pulumi.yaml``'s defaults and the blueprint renderer reads stack files without the Pulumi CLI, so the
defaults here are the ones both paths use. Validation errors are one line naming the stack, the key,
the bad value and the ``pulumi config set`` that fixes it. This module must not import pulumi.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.fields import FieldInfo

from infra.app_settings import as_text, settings_model
from infra.config_types import (
    STACK_NAME,
    Flag,
    Origins,
    RenderPaidPlan,
    RenderRegion,
    Text,
    absolute_path,
    check_bucket_name,
    matching,
    strings,
)
from infra.errors import ConfigError
from infra.names import PROJECT, default_access_point
from infra.stack_errors import explain


def key(name: str, default: Any, meaning: str, expected: str | None = None, **constraints: Any) -> Any:
    """One stack key; ``name`` without a namespace is the project's own (``ephitup:<name>``).

    ``expected`` words what a valid value looks like where the type alone would say it badly."""
    return Field(default, alias=name if ":" in name else f"{PROJECT}:{name}", description=meaning,
                 json_schema_extra={"expected": expected} if expected else None, **constraints)


class Environment(BaseModel):
    """One stack's settings. Build with ``from_values`` or ``from_stack_file``."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    stack: str = Field(pattern=STACK_NAME.pattern)
    s3_enabled: Flag = key("s3Enabled", False, "provision S3 (bucket, access point, IAM user) and store podcast "
                           "audio there")
    region: Annotated[Text, matching(r"[a-z]{2}(-[a-z]+)+-\d", "an AWS region such as us-east-2")] = key(
        "aws:region", "us-east-2", "AWS region of the bucket (us-east-2 sits next to Render's ohio)")
    bucket_name: Annotated[str | None, BeforeValidator(lambda v: str(v).strip() or None),
                           AfterValidator(check_bucket_name)] = key(
        "bucketName", "", "exact bucket name; empty: a unique name from the prefix ephitup-<stack>-")
    access_point_name: Annotated[Text, matching(r"[a-z0-9][a-z0-9-]{1,48}[a-z0-9]",
                                                 "3-50 lowercase letters, digits or '-'")] = key(
        "accessPointName", "", "S3 access point name; empty: ephitup-<stack>")
    retain_bucket: Flag = key("retainBucket", True, "protect the bucket and keep it (and its audio) when the "
                              "stack is destroyed")
    noncurrent_version_days: int = key("noncurrentVersionDays", 30, "days before an overwritten or deleted "
                                       "object version expires", ge=1)
    cdn: Flag = key("cdn", False, "serve audio through CloudFront (Origin Access Control, signed URLs): the app's "
                    "AUDIO_DELIVERY becomes cdn (needs s3Enabled)")
    cdn_price_class: Literal["PriceClass_100", "PriceClass_200", "PriceClass_All"] = key(
        "cdnPriceClass", "PriceClass_100", "the CloudFront edge locations paid for: PriceClass_100 (North America, "
        "Europe, Israel: the cheapest), PriceClass_200 or PriceClass_All")
    cors_origins: Origins = key("corsOrigins", (), "browser origins allowed to play presigned audio URLs "
                                "(empty: no CORS)")
    service_name: Text = key("serviceName", "ephitup", "Render service name; the environment is appended "
                             "(ephitup-<stack>)")
    render_plan: RenderPaidPlan = key("renderPlan", "starter", "Render instance type (a paid plan: the free plan "
                                      "has no disk)",
                                      expected="a paid instance type such as starter or standard: the free plan has "
                                      "no disk")
    render_region: RenderRegion = key("renderRegion", "ohio", "Render region: oregon, ohio, virginia, frankfurt "
                                      "or singapore")
    disk_name: Text = key("diskName", "ephitup-data", "name of the service's persistent disk")
    mount_path: Annotated[Text, AfterValidator(absolute_path)] = key(
        "mountPath", "/mydata", "where the disk is mounted; also the app's DATA_FOLDER")
    disk_size_gb: int = key("diskSizeGB", 10, "disk size in GB (a disk can grow, never shrink)", ge=1)
    num_instances: int = key("numInstances", 1, "Render instances; a service with a disk runs exactly one", ge=1)
    topology: Literal["single", "scaled"] = key(
        "topology", "single", "single: one instance with a disk; scaled: several instances and no disk, the records "
        "in a Render Postgres database and every file in S3 (needs s3Enabled)")
    min_instances: int = key("minInstances", 2, "scaled: the fewest instances", ge=1)
    max_instances: int = key("maxInstances", 2, "scaled: the most instances; above minInstances Render autoscales "
                             "(a Pro workspace and up)", ge=1)
    target_cpu_percent: int = key("targetCPUPercent", 70, "scaled, autoscaling: the average CPU Render keeps "
                                  "instances at", ge=1, le=90)
    provision_database: Flag = key("provisionDatabase", False, "single: also create the Render Postgres the scaled "
                                   "topology will use (to copy the records into before switching); scaled: always")
    database_plan: Text = key("databasePlan", "basic-1gb", "scaled: the Render Postgres instance type")
    postgres_major_version: Literal["16", "17", "18"] = key("postgresMajorVersion", "17",
                                                            "scaled: the PostgreSQL major version")
    database_disk_size_gb: int = key("databaseDiskSizeGB", 10, "scaled: the database's disk in GB", ge=1)
    database_region: Annotated[Text, matching(r"(oregon|ohio|virginia|frankfurt|singapore)?", "a Render region: "
                                               "oregon, ohio, virginia, frankfurt or singapore")] = key(
        "databaseRegion", "", "scaled: the database's Render region; empty: renderRegion (it must be the service's)")
    aws_auth: Literal["accessKey", "oidc"] = key(
        "awsAuth", "accessKey", "how the app gets AWS credentials: accessKey (an IAM user's key, which pulumi up "
        "puts on the Render service) or oidc (a role Render's OIDC tokens assume: no key at all)")
    render_workspace_id: Annotated[Text, matching(r"(tea-[a-z0-9]+)?", "a Render workspace id such as "
                                                   "tea-abc123 (its Settings page)")] = key(
        "renderWorkspaceId", "", "oidc: the Render workspace id (tea-...), whose OIDC issuer the role trusts")
    render_oidc_subject: Annotated[Text, matching(r"[^*?\s]*", "the exact subject, without wildcards")] = key(
        "renderOidcSubject", "", "oidc: the exact subject (sub) of the tokens Render issues to this environment's "
        "service; only it may assume the role")
    render_oidc_provider_arn: Annotated[Text, matching(r"(arn:aws:iam::\d{12}:oidc-provider/oidc\.render\.com/"
                                                        r"tea-[a-z0-9]+)?", "an IAM OIDC provider ARN for "
                                                        "oidc.render.com/<workspace id>")] = key(
        "renderOidcProviderArn", "", "oidc: the account's existing identity provider for Render (there is one per "
        "account and issuer); empty: the program creates it")
    deliver_keys: Flag = key("deliverKeys", True, "accessKey: pulumi up puts the key pair on the Render service and "
                             "deploys it (needs RENDER_API_KEY); false: set the pair by hand")
    render_service_id: Annotated[Text, matching(r"(srv-[a-z0-9]+)?", "a Render service id such as srv-abc123")] = key(
        "renderServiceId", "", "the Render service's id (srv-...) keys are delivered to; empty: found by its name")
    render_previews: Literal["off", "manual", "automatic"] = key(
        "renderPreviews", "off", "Render preview environments for pull requests: off, manual (created from the "
        "dashboard) or automatic; a preview runs on a disk of its own with S3 off and no AWS credential (Render: a "
        "Professional workspace or higher)")
    render_preview_expire_days: int = key("renderPreviewExpireDays", 3, "days before Render deletes a preview "
                                          "environment", ge=1)
    render_preview_plan: RenderPaidPlan = key("renderPreviewPlan", "starter", "a preview's instance type (a paid "
                                              "plan: it has a disk)")
    ci_roles: Flag = key("ciRoles", False, "declare CI's identity here (once per account): GitHub's OIDC provider, a "
                         "previewer role for pull requests and the default branch, a deployer role for the GitHub "
                         "environments named after ciDeployStacks")
    github_repository: Annotated[Text, matching(r"([A-Za-z0-9-]+/[A-Za-z0-9._-]+)?", "owner/repository")] = key(
        "githubRepository", "", "ciRoles: the repository (owner/name) whose workflows may assume CI's roles")
    github_ids: Annotated[Text, matching(r"(\d+/\d+)?", "OWNER_ID/REPOSITORY_ID, two numbers")] = key(
        "githubIds", "", "ciRoles: the owner's and the repository's ids, for GitHub's id-form subjects (repositories "
        "created from 15 July 2026, or opted in); empty: names only")
    github_default_branch: Text = key("githubDefaultBranch", "main", "ciRoles: the branch whose runs may preview "
                                      "(drift checks); deploys go through GitHub environments")
    ci_deploy_stacks: Annotated[tuple[str, ...], BeforeValidator(strings)] = key(
        "ciDeployStacks", ("dev", "prod"), "ciRoles: the stacks CI's deployer may deploy, each only in the GitHub "
        "environment of its name")
    github_oidc_provider_arn: Text = key("githubOidcProviderArn", "", "ciRoles: the account's existing identity "
                                         "provider for token.actions.githubusercontent.com; empty: created here")
    app_settings: dict[str, str] = Field(default_factory=dict)  # {MAX_UPLOAD_MB: "500"}: the tunables a stack sets

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, values: dict[str, Any]) -> dict[str, Any]:
        """An empty access point name means the stack's own, ``ephitup-<stack>``."""
        name = f"{PROJECT}:accessPointName"
        return values if values.get(name) else {**values, name: default_access_point(str(values.get("stack")))}

    @model_validator(mode="after")
    def _scaled_needs_s3_one_region_and_a_range(self) -> Environment:
        fix = f"-s {self.stack})"
        if self.topology != "scaled":
            return self
        if not self.s3_enabled:
            raise ValueError(f"stack {self.stack}: topology=scaled keeps every file in S3, but ephitup:s3Enabled is "
                             f"false (fix: pulumi config set ephitup:s3Enabled true {fix}")
        if self.database_region and self.database_region != self.render_region:
            raise ValueError(f"stack {self.stack}: databaseRegion={self.database_region} is not the service's region "
                             f"{self.render_region}: Render reaches a database only within its region (fix: pulumi "
                             f"config rm ephitup:databaseRegion {fix}")
        if self.max_instances < self.min_instances:
            raise ValueError(f"stack {self.stack}: maxInstances={self.max_instances} is below minInstances="
                             f"{self.min_instances} (fix: pulumi config set ephitup:maxInstances "
                             f"{self.min_instances} {fix}")
        return self

    @model_validator(mode="after")
    def _cdn_needs_s3(self) -> Environment:
        if self.cdn and not self.s3_enabled:
            raise ValueError(f"stack {self.stack}: ephitup:cdn serves audio from the bucket, but ephitup:s3Enabled is "
                             f"false (fix: pulumi config set ephitup:s3Enabled true -s {self.stack}, or pulumi config "
                             f"set ephitup:cdn false -s {self.stack})")
        delivery = self.app_settings.get("AUDIO_DELIVERY")
        if delivery and (delivery == "cdn") != self.cdn:
            raise ValueError(f"stack {self.stack}: ephitup:audioDelivery={delivery} but ephitup:cdn is "
                             f"{str(self.cdn).lower()}: the CDN is turned on and off with ephitup:cdn alone (fix: "
                             f"pulumi config rm ephitup:audioDelivery -s {self.stack})")
        return self

    @model_validator(mode="after")
    def _previews_are_single(self) -> Environment:
        if self.render_previews != "off" and self.topology == "scaled":
            raise ValueError(f"stack {self.stack}: renderPreviews={self.render_previews} with topology=scaled: a "
                             "preview would need the environment's database and bucket; previews run single, on a "
                             f"disk, so turn them on for a single stack (fix: pulumi config set ephitup:renderPreviews "
                             f"off -s {self.stack})")
        return self

    @model_validator(mode="after")
    def _ci_needs_its_repository(self) -> Environment:
        if self.ci_roles and not self.github_repository:
            raise ValueError(f"stack {self.stack}: ephitup:ciRoles needs ephitup:githubRepository (fix: pulumi config "
                             f"set ephitup:githubRepository <owner/repository> -s {self.stack})")
        if self.ci_roles and self.s3_enabled:
            raise ValueError(f"stack {self.stack}: ephitup:ciRoles belongs in a stack of its own (no S3, no service: "
                             f"CI never deploys it, so it cannot widen its own rights) (fix: pulumi stack init ci)")
        return self

    @model_validator(mode="after")
    def _oidc_needs_its_workspace_and_subject(self) -> Environment:
        if self.aws_auth == "oidc" and self.s3_enabled:
            for name, value in (("renderWorkspaceId", self.render_workspace_id),
                                ("renderOidcSubject", self.render_oidc_subject)):
                if not value:
                    raise ValueError(f"stack {self.stack}: awsAuth=oidc needs ephitup:{name} (fix: pulumi config "
                                      f"set ephitup:{name} <value> -s {self.stack})")
        return self

    @property
    def render_service(self) -> str:
        """Service names carry the environment: a blueprint for one never takes over another's."""
        return f"{self.service_name}-{self.stack}"

    @classmethod
    def from_values(cls, stack: str, values: Mapping[str, Any]) -> Environment:
        """Build from ``{"ephitup:key": value}`` (strings as Pulumi stores them, or YAML types)."""
        if not STACK_NAME.match(stack):
            raise ConfigError(f"stack name {stack!r} may only hold letters, digits, '.', '_' and '-'")
        ours = {k: v for k, v in values.items() if k in stack_keys() or k.startswith(f"{PROJECT}:")}
        unknown = sorted(set(ours) - set(stack_keys()))
        if unknown:
            raise ConfigError(f"stack {stack}: unknown key {unknown[0]} (known: {', '.join(sorted(stack_keys()))})")
        given = {k: v for k, v in ours.items() if v is not None and v != ""}
        tunable = settings_model().model_fields
        try:
            app = settings_model().model_validate({k: v for k, v in given.items() if k in _aliases(tunable)})
            app_settings = {name: as_text(getattr(app, name)) for name in app.model_fields_set}
            return cls(stack=stack, app_settings=app_settings,
                       **{k: v for k, v in given.items() if k not in _aliases(tunable)})
        except ValidationError as error:
            raise ConfigError(explain(stack, error, stack_keys())) from None

    @classmethod
    def from_stack_file(cls, path: Path) -> Environment:
        """Read ``Pulumi.<stack>.yaml`` with pyyaml: no Pulumi CLI needed."""
        match = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", path.name)
        if not match:
            raise ConfigError(f"{path} is not a stack file (Pulumi.<stack>.yaml)")
        document = yaml.safe_load(path.read_text()) or {}
        config = document.get("config") or {}
        return cls.from_values(match.group(1), {k: v for k, v in config.items() if not isinstance(v, dict)})


def stack_keys() -> dict[str, FieldInfo]:
    """Every stack key the program reads, by its full name, with its field (default, meaning, type): the
    environment's own, then the app settings it tunes."""
    return {info.alias: info for fields in (Environment.model_fields, settings_model().model_fields)
            for info in fields.values() if info.alias}


def _aliases(fields: dict[str, FieldInfo]) -> set[str]:
    return {info.alias for info in fields.values() if info.alias}
