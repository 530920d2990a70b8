"""``CiAccess``: CI's AWS identity with no key: GitHub's OIDC provider and two roles (``ephitup:ciRoles``).

Declared by the same program, in the one stack that sets ``ephitup:ciRoles`` (an administrator's single
``pulumi up``): the roles live under their own IAM path, ``/ephitup-ci/``, which the deployer policy does not
reach, so CI can never widen its own rights. The previewer reads (the deployer policy's ``Get``, ``List`` and
``Describe`` actions) and is trusted for this repository's pull requests and its default branch (the nightly
drift check); the deployer holds the deployer policy and is trusted only for jobs running in a GitHub
environment named after a stack, whose protection rules (required reviewers, the default branch only) GitHub
enforces before the token exists.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra import deployer, names, policies
from infra.environment import Environment

CI_PATH = "/ephitup-ci/"


class CiAccess(pulumi.ComponentResource):
    previewer: aws.iam.Role
    deployer: aws.iam.Role

    def __init__(self, name: str, env: Environment, account_id: pulumi.Input[str],
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(names.CI_COMPONENT_TYPE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        provider_arn: pulumi.Input[str] = env.github_oidc_provider_arn or aws.iam.OpenIdConnectProvider(
            f"{name}-github-oidc", url=f"https://{policies.GITHUB_ISSUER}", client_id_lists=[policies.OIDC_AUDIENCE],
            opts=child).arn
        subjects = [*policies.github_subjects(env.github_repository, env.github_ids, "pull_request"),
                    *policies.github_subjects(env.github_repository, env.github_ids,
                                              f"ref:refs/heads/{env.github_default_branch}")]
        self.previewer = self._role(name, "previewer", provider_arn, subjects,
                                    pulumi.Output.from_input(account_id).apply(
                                        lambda account: deployer.read_only(deployer.deployer_policy(account))))
        environments = [subject for stack in env.ci_deploy_stacks
                        for subject in policies.github_subjects(env.github_repository, env.github_ids,
                                                                f"environment:{stack}")]
        self.deployer = self._role(name, "deployer", provider_arn, environments,
                                   pulumi.Output.from_input(account_id).apply(deployer.deployer_policy))
        self.register_outputs({"previewer_role_arn": self.previewer.arn, "deployer_role_arn": self.deployer.arn})

    def _role(self, name: str, purpose: str, provider_arn: pulumi.Input[str], subjects: list[str],
              policy: pulumi.Output[policies.Policy]) -> aws.iam.Role:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-{purpose}", name=f"{names.PROJECT}-ci-{purpose}", path=CI_PATH,
            assume_role_policy=pulumi.Output.from_input(provider_arn).apply(
                lambda arn: policies.to_json(policies.github_trust_policy(arn, subjects))),
            opts=child)
        aws.iam.RolePolicy(f"{name}-{purpose}-policy", role=role.name, policy=policy.apply(policies.to_json),
                           opts=child)
        return role
