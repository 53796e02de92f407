"""Prompt policy and adult-only gating (issue 10): see :mod:`services.policy.book`."""

from services.policy.book import PolicyBook, PolicyConfig, ServerRule
from services.policy.errors import AdultOnlyHere, PromptBlocked
from services.policy.rules import Rule, RuleError, RuleSet, parse_rule_lines

__all__ = [
    "AdultOnlyHere",
    "PolicyBook",
    "PolicyConfig",
    "PromptBlocked",
    "Rule",
    "RuleError",
    "RuleSet",
    "ServerRule",
    "parse_rule_lines",
]
