"""Settings as declarations: each app declares its knobs once, in its `conf.py`.

A knob is a `Setting` on the app's `AppSettings` class: the attribute's name is its
environment variable's, and the declaration holds the default (written as the
environment would spell it), how such a string is parsed, and a line of help for the
configuration reference (`manage.py settings_reference`). `realgeeks/settings.py` only
copies the variables that are set into one dict per app (`settings.LEADS`...), as
strings; the app reads them through its accessor (`app_settings.DELIVERY_TOTAL_TIMEOUT`),
which parses them or falls back to the default. A value that does not parse is an error
of the app's system check (`<app>.E001`), run by `manage.py check` and at start.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any, ClassVar, Generic, Self, TypeVar, cast, overload

import environ
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import module_has_submodule

T = TypeVar("T")


@dataclass(frozen=True)
class Computed:
    """A default that depends on other settings, and how the reference shows it."""

    value: Callable[[], str]
    shown: str


def started_local() -> bool:
    return bool(settings.REALGEEKS_MODE == "local")


def by_mode(*, local: str, production: str, shown: str | None = None) -> Computed:
    """A default for each REALGEEKS_MODE: the mode the process started in, not the
    LOCAL_MODE a test flips to exercise production's rules."""
    return Computed(
        lambda: local if started_local() else production,
        shown or f"local: {_shown(local)}; production: {_shown(production)}",
    )


@dataclass(frozen=True, eq=False)
class Setting(Generic[T]):
    """One knob of an app, declared as an attribute of its `AppSettings` class."""

    parse: Callable[[str], T]
    default: str | Computed
    help: str
    name: str = field(default="", init=False)

    def __set_name__(self, owner: type["AppSettings"], name: str) -> None:
        object.__setattr__(self, "name", name)

    @overload
    def __get__(self, instance: None, owner: type["AppSettings"]) -> Self: ...

    @overload
    def __get__(self, instance: "AppSettings", owner: type["AppSettings"]) -> T: ...

    def __get__(self, instance: "AppSettings | None", owner: type["AppSettings"]) -> Self | T:
        if instance is None:
            return self
        return instance.value(self)

    @property
    def shown_default(self) -> str:
        if isinstance(self.default, Computed):
            return self.default.shown
        return _shown(self.default)


class AppSettings:
    """An app's settings: `settings.<namespace>[NAME]` when set, else the default.

    A string is parsed as the environment writes it; any other value (a test's) is
    used as it is. Values are parsed once, and forgotten whenever a setting changes.
    """

    namespace: ClassVar[str]

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        setting_changed.connect(self._forget, weak=False)

    def _forget(self, **kwargs: Any) -> None:
        self._values = {}

    @classmethod
    def declarations(cls) -> list[Setting[Any]]:
        return [each for each in vars(cls).values() if isinstance(each, Setting)]

    def value(self, setting: Setting[T]) -> T:
        values = self._values  # not a newer one, should a setting change meanwhile
        try:
            return cast(T, values[setting.name])
        except KeyError:
            pass
        values[setting.name] = value = self._read(setting)
        return value

    def _read(self, setting: Setting[T]) -> T:
        given: dict[str, Any] = getattr(settings, self.namespace, {})
        if setting.name in given:
            text = given[setting.name]
            if not isinstance(text, str):
                return cast(T, text)
        elif isinstance(setting.default, Computed):
            text = setting.default.value()
        else:
            text = setting.default
        try:
            return setting.parse(text)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{setting.name}: {exc}") from None

    def errors(self, *, check_id: str) -> list[checks.Error]:
        """The system check's errors: one for each value that does not parse."""
        found = []
        for setting in self.declarations():
            try:
                self.value(setting)
            except ImproperlyConfigured as exc:
                found.append(checks.Error(str(exc), id=check_id))
        return found


def declared_settings() -> Iterator[tuple[str, AppSettings]]:
    """Each installed app's label and accessor (`<app>.conf.app_settings`), in
    INSTALLED_APPS order."""
    for config in apps.get_app_configs():
        if module_has_submodule(config.module, "conf"):
            accessor = getattr(import_module(f"{config.name}.conf"), "app_settings", None)
            if isinstance(accessor, AppSettings):
                yield config.label, accessor


# ---------------------------------------------------------------------------
# Parsing, as django-environ's env.int(), env.float(), env.bool() and env.list() do.


def parse_str(text: str) -> str:
    return text


def parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"must be an integer; got {text!r}") from None


def parse_float(text: str) -> float:
    try:
        return float(environ.Env.parse_value(text, float))
    except ValueError:
        raise ValueError(f"must be a number; got {text!r}") from None


def parse_bool(text: str) -> bool:
    """True for a non-zero integer or true, on, ok, y, yes; anything else is false."""
    return bool(environ.Env.parse_value(text, bool))


def parse_list(item: Callable[[str], T]) -> Callable[[str], list[T]]:
    """Comma-separated items, empty ones skipped, each parsed by `item`."""

    def parse(text: str) -> list[T]:
        parsed = []
        for position, each in enumerate((x for x in text.split(",") if x), start=1):
            try:
                parsed.append(item(each))
            except ValueError as exc:
                raise ValueError(f"item {position} {exc}") from None
        return parsed

    return parse


def _shown(default: str) -> str:
    return f"`{default}`" if default else "empty"


# ---------------------------------------------------------------------------
# core's own knobs: the client's address, login records, readiness and metrics.


class CoreSettings(AppSettings):
    namespace = "CORE"

    TRUSTED_PROXY_COUNT = Setting(
        parse_int,
        default=by_mode(local="0", production="1"),
        help="proxies in front of gunicorn that append the client's address to "
        "`CLIENT_IP_HEADER`; `0` uses `REMOTE_ADDR` "
        "([security](security.md#the-clients-address))",
    )
    CLIENT_IP_HEADER = Setting(
        parse_str,
        default="X-Forwarded-For",
        help="the header those proxies write (`X-Real-IP` for a single-value header)",
    )
    LOGIN_ACCESS_LOG_DAYS = Setting(
        parse_int,
        default="90",
        help="successful logins (admin: Axes > Access logs) are pruned daily after this",
    )
    READYZ_WORKER_HEARTBEAT_MAX_AGE = Setting(
        parse_int,
        default="60",
        help="`/readyz` answers 503 when no delivery worker sent a heartbeat for this long",
    )
    METRICS_TOKEN = Setting(
        parse_str,
        default="",
        help="when set, `/metrics` requires `Authorization: Bearer <token>` (a long random "
        "string) ([operations](operations.md#metrics))",
    )
    METRICS_ENABLED = Setting(
        parse_bool,
        default=Computed(
            lambda: "true" if started_local() or _metrics_token() else "false",
            shown="local: on; production: on when `METRICS_TOKEN` is set",
        ),
        help="off: `/metrics` answers 404 and requests are not timed. Production refuses "
        "to start with it on and no token",
    )


app_settings = CoreSettings()


def _metrics_token() -> str:
    return app_settings.METRICS_TOKEN
