"""The fake Slack's people directory: ``users.info`` and ``usergroups.users.list`` (issue 10 admin checks)."""

from __future__ import annotations

from typing import Any

__all__ = ["DirectoryMethods"]


class DirectoryMethods:
    """Mixed into FakeSlack. Tests set ``admins``, ``owners`` and ``usergroups`` (id → member ids);
    ``usergroups_scope = False`` answers ``missing_scope`` as Slack does for an app without it."""

    admins: set[str]
    owners: set[str]
    usergroups: dict[str, list[str]]
    usergroups_scope: bool

    def _init_directory(self) -> None:
        self.admins, self.owners, self.usergroups, self.usergroups_scope = set(), set(), {}, True

    def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = str(p.get("user") or "")
        if not user:
            return {"ok": False, "error": "user_not_found"}
        return {
            "ok": True,
            "user": {
                "id": user,
                "name": user.lower(),
                "is_admin": user in self.admins,
                "is_owner": user in self.owners,
            },
        }

    def _m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        if not self.usergroups_scope:
            return {"ok": False, "error": "missing_scope", "needed": "usergroups:read"}
        group = str(p.get("usergroup") or "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.usergroups[group])}
