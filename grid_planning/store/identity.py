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
   a real one. When the setting is given but a request lacks the header, the visitor is
   :data:`ANONYMOUS` (never the local user, who owns what was saved before the server was shared).
3. **The single local user** (:data:`LOCAL_USER_ID`), for a planner running the dashboard on their
   own machine. That identity is reserved: a sign-in or a header naming it is :data:`ANONYMOUS`.

Administrators (who may rename, overwrite and delete anybody's scenario) are listed in the setting
``admins`` (identities separated by commas or whitespace, or a TOML list), compared case-insensitively.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from grid_planning.base.config import setting
from grid_planning.base.textsafe import invisible

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


def _admin_list(raw: Any) -> tuple[str, ...]:
    items: Iterable[Any] = raw if isinstance(raw, (list, tuple)) else re.split(r"[,\s]+", str(raw))
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


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    wanted = name.strip().lower()
    for key, value in headers.items():
        if str(key).strip().lower() == wanted:
            return str(value)
    return None


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
        value = _header(headers or {}, str(header))
        ident = clean_identity(value) if value is not None else ""
        return _with_admin(User(ident, ident, "header")) if ident and not _reserved(ident) else ANONYMOUS
    return local_user()


def _reserved(ident: str) -> bool:
    """The single local user's identity is never a signed-in or proxied one: whoever it named
    would own what was saved before the server was shared."""
    return same_identity(ident, LOCAL_USER_ID)  # NFKC and case-folded: "ＬＯＣＡＬ" too
