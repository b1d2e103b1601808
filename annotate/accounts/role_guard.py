"""The net under the role services: group and admin-flag changes made any other way.

annotate/accounts/services.py is the way roles change. Anything else that touches a
user's groups or is_staff/is_superuser (the Django admin's forms, a shell, a command,
a script) passes through these receivers:

- giving the officer or admin group, or is_staff/is_superuser, is refused with
  PrivilegedRoleRefused (the one exception: the very first admin of an empty
  installation, e.g. `manage.py createsuperuser`, recorded as role.bootstrap_admin);
- every other change (a role added or taken away, a flag cleared) is recorded in the
  audit log as role.changed_outside_services, without an actor (none is known here).

These receivers are connected in AccountsConfig.ready(). They are the safety net the
brief of issue 11 allowed; they keep no counters and call no other system.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from annotate.accounts import roles

PRIVILEGED_GROUPS = frozenset({roles.OFFICER, roles.ADMIN})
FLAGS = ("is_staff", "is_superuser")

_sanctioned: ContextVar[str | None] = ContextVar("annotate_role_change_sanctioned", default=None)


class PrivilegedRoleRefused(PermissionDenied):
    """A privileged role or flag was given outside the two-admin grant."""


@contextmanager
def sanctioned(how: str) -> Iterator[None]:
    """Changes inside this block are made by the role services (which audit them themselves)."""
    token = _sanctioned.set(how)
    try:
        yield
    finally:
        _sanctioned.reset(token)


def _record(details: dict) -> None:
    from annotate.audit import services as audit  # the audit app sits beside accounts, at the bottom

    audit.record(action="role.changed_outside_services", target=f"user:{details['user']}", details=details)


def _refuse(what: str) -> None:
    raise PrivilegedRoleRefused(
        f"{what} is granted only through a role grant confirmed by a second admin "
        "(Django admin: Accounts › Role grants; code: annotate.accounts.services.request_grant)"
    )


def _no_admin_yet() -> bool:
    User = get_user_model()
    return (
        not User.objects.filter(is_superuser=True).exists()
        and not Group.objects.filter(name=roles.ADMIN, user__isnull=False).exists()
    )


def on_groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    if _sanctioned.get() is not None:
        return
    if action == "pre_clear":
        # post_clear does not say what was removed: note it now.
        instance._annotate_cleared = (
            list(instance.groups.values_list("name", flat=True))
            if not reverse
            else list(instance.user_set.values_list("pk", flat=True))
        )
        return
    if action not in ("pre_add", "post_add", "post_remove", "post_clear"):
        return
    if reverse:  # group.user_set.add(...): instance is the group, pk_set the users
        pairs = [(pk, instance.name) for pk in (pk_set or instance.__dict__.pop("_annotate_cleared", []))]
    else:
        names = (
            list(Group.objects.filter(pk__in=pk_set).values_list("name", flat=True))
            if pk_set
            else instance.__dict__.pop("_annotate_cleared", [])
            if action == "post_clear"
            else []
        )
        pairs = [(instance.pk, name) for name in names]
    if action == "pre_add":
        for _user_id, name in pairs:
            if name in PRIVILEGED_GROUPS:
                _refuse(f"the {name} role")
        return
    change = "added" if action == "post_add" else "removed"
    for user_id, name in pairs:
        _record({"user": user_id, "role": name, "change": change})


def on_user_pre_save(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields is not None and not set(update_fields) & set(FLAGS):
        return
    old = {}
    if instance.pk is not None:
        old = sender.objects.filter(pk=instance.pk).values(*FLAGS).first() or {}
    changes = {f: getattr(instance, f) for f in FLAGS if bool(old.get(f, False)) != bool(getattr(instance, f))}
    if not changes or _sanctioned.get() is not None:
        return
    raised = [f for f, value in changes.items() if value]
    if raised:
        if _no_admin_yet():
            instance._annotate_flag_changes = {**changes, "bootstrap": True}
            return
        _refuse(" and ".join(raised))
    instance._annotate_flag_changes = changes


def on_user_post_save(sender, instance, **kwargs) -> None:
    changes = instance.__dict__.pop("_annotate_flag_changes", None)
    if not changes:
        return
    if changes.pop("bootstrap", False):
        from annotate.audit import services as audit

        audit.record(
            action="role.bootstrap_admin", target=f"user:{instance.pk}", details={"user": instance.pk, **changes}
        )
        return
    _record({"user": instance.pk, "flags": changes})


def on_group_pre_save(sender, instance, **kwargs) -> None:
    """Renaming a group (with its members) to officer or admin would make them all officers."""
    if instance.pk is None or _sanctioned.get() is not None:
        return
    old = sender.objects.filter(pk=instance.pk).values_list("name", flat=True).first()
    if old != instance.name and (instance.name in PRIVILEGED_GROUPS or old in PRIVILEGED_GROUPS):
        _refuse(f"renaming the group {old!r} to {instance.name!r}")


def connect() -> None:
    from django.db.models.signals import m2m_changed, post_save, pre_save

    User = get_user_model()
    m2m_changed.connect(on_groups_changed, sender=User.groups.through, dispatch_uid="annotate_role_guard_groups")
    pre_save.connect(on_user_pre_save, sender=User, dispatch_uid="annotate_role_guard_user_pre")
    post_save.connect(on_user_post_save, sender=User, dispatch_uid="annotate_role_guard_user_post")
    pre_save.connect(on_group_pre_save, sender=Group, dispatch_uid="annotate_role_guard_group")
