"""The ephitup policy pack: `pulumi preview --policy-pack infra/policy_pack` (see rules.py)."""

from pulumi_policy import PolicyPack
from rules import POLICIES

PolicyPack(name="ephitup-guardrails", policies=POLICIES)
