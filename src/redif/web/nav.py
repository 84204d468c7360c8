"""The navigation bar: add an entry for a new page with :func:`add_nav_item` (it is shown only to users
whose role grants its permission)."""

from __future__ import annotations

from dataclasses import dataclass

from redif.registry.access import Permission, Principal

__all__ = ["NAV_ITEMS", "NavItem", "add_nav_item", "visible_nav"]


@dataclass(frozen=True)
class NavItem:
    """One link of the navigation bar."""

    label: str
    href: str
    permission: Permission


NAV_ITEMS: list[NavItem] = [
    NavItem("Patients", "/patients", Permission.PATIENT_READ),
]


def add_nav_item(label: str, href: str, permission: Permission) -> None:
    """Register a navigation link (idempotent)."""
    item = NavItem(label, href, permission)
    if item not in NAV_ITEMS:
        NAV_ITEMS.append(item)


def visible_nav(principal: Principal | None) -> list[NavItem]:
    """The links this caller may follow."""
    return [
        i
        for i in NAV_ITEMS
        if i.permission is Permission.PUBLIC or (principal is not None and principal.can(i.permission))
    ]
