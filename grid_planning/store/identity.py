"""Who is using the dashboard: the identity the scenario store records as owner and author.

Three sources, first match wins (the pages pass in what Streamlit gives; nothing here imports it):

1. **Streamlit authentication** (``st.user``, OpenID Connect configured in ``.streamlit/secrets.toml``
   ``[auth]``). When it is configured, ``st.user`` carries ``is_logged_in``; a signed-in user is
   identified by the ``email`` claim (else ``sub``; ``sub`` also when the provider marks the
   address unverified, ``email_verified: false``, for anybody may claim an unverified address). A visitor who has not signed in is
   :data:`ANONYMOUS`: they may look at scenarios but not save or change any.
2. **A trusted reverse-proxy header** whose name is the setting ``user_header`` (e.g.
   ``X-Forwarded-User`` set by the commission's single sign-on proxy). Only configure it when every
   request reaches the dashboard through that proxy: the dashboard cannot tell a forged header from
   a real one: bind the dashboard to localhost behind the proxy, which must overwrite (or strip)
   any copy of the header a client sends (see the README's team-server set-up). When the setting
   is given but a request lacks the header, the visitor is :data:`ANONYMOUS` (never the local
   user, who owns what was saved before the server was shared); a request carrying it more than
   once is :data:`REPEATED_HEADER` (read-only). Values are decoded as the proxy sends them: UTF-8
   or RFC 5987 ``UTF-8''%E5%BC%A0`` (:func:`decode_header_value`).
3. **The single local user** (:data:`LOCAL_USER_ID`), for a planner running the dashboard on their
   own machine. That identity is reserved: a sign-in or a header naming it is :data:`ANONYMOUS`.
   On a shared store (PostgreSQL, or ``shared_store = true``) with no identity source, everyone
   would be that one owner and could delete everything: they are :data:`UNIDENTIFIED` (read-only)
   unless ``admins`` lists ``local``.

Administrators (who may rename, overwrite and delete anybody's scenario) are listed in the setting
``admins`` (identities separated by commas or whitespace, or a TOML list), compared case-insensitively.
"""

from __future__ import annotations

import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from grid_planning.base.config import setting
from grid_planning.base.textsafe import invisible
from grid_planning.store.backends import is_postgres_url

#: The identity of the planner on a single-user installation (and owner of scenarios saved before
#: the store recorded owners).
LOCAL_USER_ID = "local"


#: Longest identity kept (a header is the client's text: bounded before it reaches the database).
MAX_ID_LENGTH = 200


@dataclass(frozen=True)
class User:
    """A dashboard user.

    Attributes
    ----------
    id : str
        Stable identity stored as owner/author (an e-mail address, a proxy user name, ``"local"``);
        empty for an anonymous visitor.
    name : str
        What to show (the ``name`` claim when authentication gives one, else ``id``).
    source : {"auth", "header", "local", "anonymous"}
        Where the identity came from.
    is_admin : bool
        Listed in the ``admins`` setting.
    """

    id: str
    name: str
    source: str
    is_admin: bool = False

    @property
    def anonymous(self) -> bool:
        """Not identified (may open and look, may not save or change scenarios)."""
        return not self.id

    def can_change(self, owner: str) -> bool:
        """Whether this user may rename, overwrite or delete a scenario owned by ``owner``."""
        return not self.anonymous and (self.is_admin or same_identity(self.id, owner))


#: A visitor the configured identity source does not vouch for.
ANONYMOUS = User(id="", name="", source="anonymous")


def clean_identity(value: object) -> str:
    """An identity as stored: NFKC, no control or invisible character, trimmed, bounded."""
    text = unicodedata.normalize("NFKC", str(value))
    text = "".join(ch for ch in text if not invisible(ch) and unicodedata.category(ch) not in ("Zl", "Zp"))
    return text.strip()[:MAX_ID_LENGTH]


def same_identity(a: str, b: str) -> bool:
    """Identities compare case-insensitively (``Li.Ming@x.cn`` is ``li.ming@x.cn``)."""
    return bool(a) and clean_identity(a).casefold() == clean_identity(b).casefold()


def _admin_list(raw: object) -> tuple[str, ...]:
    items: Iterable[object] = raw if isinstance(raw, (list, tuple)) else re.split(r"[,\s]+", str(raw))
    return tuple(c for c in (clean_identity(i) for i in items) if c)


def admins() -> tuple[str, ...]:
    """The administrators' identities (setting ``admins``)."""
    return setting("admins", (), cast=_admin_list)


def _with_admin(user: User) -> User:
    admin = not user.anonymous and any(same_identity(user.id, a) for a in admins())
    return User(user.id, user.name, user.source, admin)


def local_user() -> User:
    """The single local user (an administrator only when listed in ``admins``)."""
    return _with_admin(User(LOCAL_USER_ID, LOCAL_USER_ID, "local"))


#: The source of a request that carried the identity header more than once: a client's copy next
#: to the proxy's, which the proxy should have removed. Nobody (read-only), and the page says so.
REPEATED_HEADER = User(id="", name="", source="repeated_header")


#: The source of a visitor on a shared store (PostgreSQL) without any identity setting: everyone
#: would be the same owner, so nobody may change anything unless ``admins`` lists ``local``.
UNIDENTIFIED = User(id="", name="", source="unidentified")


def _header_values(headers: Mapping[str, Any], name: str) -> list[str]:
    """Every value of header ``name`` (a mapping's value may be one string or a list of them, as
    ``st.context.headers.get_all`` gives them)."""
    wanted = name.strip().lower()
    out: list[str] = []
    for key, value in headers.items():
        if str(key).strip().lower() == wanted:
            out.extend(str(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
    return out


class Headers(Protocol):
    """A request's headers as Streamlit gives them (``st.context.headers``): names, and every
    value of a name."""

    def __iter__(self) -> Iterator[str]: ...
    def get_all(self, key: str) -> Iterable[str]: ...


def all_headers(found: Headers | None) -> dict[str, list[str]]:
    """Every value of every header of a request (``st.context.headers``, whose ``get_all`` gives
    them all): a header sent twice must be seen twice to be refused."""
    if not found:
        return {}
    return {str(key): [str(v) for v in found.get_all(key)] for key in found}


_RFC5987 = re.compile(r"^(?P<charset>[A-Za-z0-9!#$&+^`{}~-]+)'(?P<lang>[A-Za-z0-9-]*)'(?P<text>.*)$")


def decode_header_value(value: str) -> str:
    """An identity header's value as the proxy sent it.

    HTTP header bytes reach the dashboard decoded as Latin-1 (tornado), so a proxy that sends a
    UTF-8 name ("张伟") gives ``"å¼ ä¼\x9f"``, whose control characters were then dropped: "张伀"
    and "张伟" became one identity. Two encodings are understood:

    - RFC 5987 / RFC 8187 ``UTF-8''%E5%BC%A0%E4%BC%9F`` (charset, language, percent-encoded
      bytes), the safe choice for a proxy;
    - raw UTF-8 bytes: a value whose characters are all Latin-1 and whose bytes are valid UTF-8
      is read as UTF-8 (a Latin-1 name such as "José" sent as Latin-1 stays as it is).

    Raises
    ------
    ValueError
        For an RFC 5987 value whose bytes are not text in its charset (never guessed).
    """
    match = _RFC5987.match(value.strip())
    if match:
        raw = urllib.parse.unquote_to_bytes(match["text"])
        return raw.decode(match["charset"].lower(), errors="strict")
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        return value  # already text beyond Latin-1: given decoded
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return value


def current_user(
    user_info: Mapping[str, Any] | None = None, headers: Mapping[str, Any] | None = None
) -> User:
    """The user of a request.

    Parameters
    ----------
    user_info : mapping, optional
        What ``st.user`` holds (``dict(st.user)``). It has ``is_logged_in`` only when Streamlit
        authentication is configured.
    headers : mapping, optional
        The request's HTTP headers (``st.context.headers``), read when the ``user_header`` setting
        names one.

    Returns
    -------
    User
        See the module docstring for the order of the sources.
    """
    info = dict(user_info or {})
    if "is_logged_in" in info:
        if not info.get("is_logged_in"):
            return ANONYMOUS
        # An address the identity provider says it has not verified is anybody's claim (an
        # admin's, another planner's): such a user is their subject id instead.
        unverified = str(info.get("email_verified", "")).strip().lower() in ("false", "0", "no")
        email = "" if unverified else info.get("email")
        ident = clean_identity(email or info.get("sub") or "")
        if not ident or _reserved(ident):
            return ANONYMOUS
        name = clean_identity(info.get("name") or ident)
        return _with_admin(User(ident, name, "auth"))
    header = setting("user_header", None)
    if header:
        values = _header_values(headers or {}, str(header))
        if len(values) > 1:
            return REPEATED_HEADER
        try:
            ident = clean_identity(decode_header_value(values[0])) if values else ""
        except (ValueError, LookupError):
            return ANONYMOUS
        return _with_admin(User(ident, ident, "header")) if ident and not _reserved(ident) else ANONYMOUS
    if shared_store_without_identity():
        return local_user() if local_user().is_admin else UNIDENTIFIED
    return local_user()


def shared_store_without_identity() -> bool:
    """Whether the store is shared by several people (PostgreSQL, or the setting ``shared_store``
    for a SQLite file that several dashboards open) while no identity source is configured
    (no ``user_header``; Streamlit sign-in shows in ``st.user``, checked by the caller first)."""
    if setting("user_header", None):
        return False
    return setting("shared_store", False) or is_postgres_url(setting("store_url", ""))


def _reserved(ident: str) -> bool:
    """The single local user's identity is never a signed-in or proxied one: whoever it named
    would own what was saved before the server was shared."""
    return same_identity(ident, LOCAL_USER_ID)  # NFKC and case-folded: "ＬＯＣＡＬ" too
