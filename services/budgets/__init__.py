"""Budgets and limits for running easel in a community (issue 10); see :mod:`services.budgets.book`."""

from services.budgets.book import BudgetBook, BudgetLine
from services.budgets.limits import LIMIT_NAMES, LimitName, Limits

__all__ = ["LIMIT_NAMES", "BudgetBook", "BudgetLine", "LimitName", "Limits"]
