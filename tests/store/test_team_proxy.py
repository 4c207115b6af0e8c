"""The README's team-server proxy, run: Debian nginx with the server block of
``docs/team-server/grid-planner.nginx.conf`` in front of a stand-in for the dashboard that reads
headers as Streamlit does (Starlette under uvicorn, ``StreamlitHeaders``) and asks
:func:`grid_planning.store.identity.current_user` who the request is. Two users sign in (one with a
Chinese name), a third forges the identity header, a fourth bypasses the proxy and sends it twice."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "docs" / "team-server" / "grid-planner.nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (.ci/run installs it)"
)

_DASHBOARD = r"""
import json, sys
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from streamlit.runtime.context import StreamlitHeaders
from grid_planning.store.identity import all_headers, current_user

async def who(request):
    found = StreamlitHeaders(list(request.headers.items()))  # as Streamlit's websocket does
    user = current_user({}, all_headers(found))
    body = {"id": user.id, "source": user.source, "admin": user.is_admin}
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")

uvicorn.run(Starlette(routes=[Route("/", who)]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int) -> None:
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(port)


def _server_block(front: int, back: int, htpasswd: Path) -> str:
    text = CONF.read_text(encoding="utf-8")
    block = re.search(r"# BEGIN server\n(.*)# END server", text, re.S).group(1)
    block = re.sub(r"listen 443 ssl;", f"listen 127.0.0.1:{front};", block)
    block = re.sub(r"\s*ssl_certificate\S*\s+\S+;", "", block)
    block = block.replace("http://127.0.0.1:8501", f"http://127.0.0.1:{back}")
    return block.replace("/etc/nginx/grid-planner.htpasswd", str(htpasswd))


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    d = tmp_path_factory.mktemp("nginx")
    front, back = _free_port(), _free_port()
    htpasswd = d / "htpasswd"
    htpasswd.write_bytes("wang:{PLAIN}w-pass\n张伟:{PLAIN}z-pass\n张伀:{PLAIN}y-pass\n".encode())
    (d / "nginx.conf").write_text(
        # Workers as the test's own user (as root nginx would drop to www-data, who cannot read
        # the test's private folder).
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log off;\nclient_body_temp_path {d}/body;\nproxy_temp_path {d}/proxy;\n"
        f"fastcgi_temp_path {d}/f;\nuwsgi_temp_path {d}/u;\nscgi_temp_path {d}/s;\n"
        f"{_server_block(front, back, htpasswd)}\n}}\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GRID_PLANNER_HOME": str(d),
        "GRID_PLANNER_USER_HEADER": "X-Remote-User",
        "GRID_PLANNER_ADMINS": "boss",
    }
    dashboard = subprocess.Popen([sys.executable, "-c", _DASHBOARD, str(back)], env=env)
    nginx = subprocess.Popen(
        [NGINX, "-p", str(d), "-c", str(d / "nginx.conf")], stderr=subprocess.PIPE
    )
    try:
        _wait(back)
        _wait(front)
        yield front, back
    finally:
        for process in (nginx, dashboard):
            process.terminate()
            process.wait(timeout=30)


def _get(port: int, headers: list[tuple[str, bytes | str]]) -> tuple[int, dict | None]:
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    con.putrequest("GET", "/")
    for name, value in headers:
        con.putheader(name, value)
    con.endheaders()
    response = con.getresponse()
    body = response.read()
    con.close()
    return response.status, json.loads(body) if response.status == 200 else None


def _basic(user: str, password: str) -> tuple[str, bytes]:
    return "Authorization", b"Basic " + base64.b64encode(f"{user}:{password}".encode())


def test_two_users_sign_in_through_the_proxy_as_themselves(proxy):
    front, _ = proxy
    assert _get(front, [_basic("wang", "w-pass")]) == (
        200,
        {"id": "wang", "source": "header", "admin": False},
    )
    assert _get(front, [_basic("张伟", "z-pass")])[1]["id"] == "张伟"
    assert _get(front, [_basic("张伀", "y-pass")])[1]["id"] == "张伀"  # never the same owner
    assert _get(front, [])[0] == 401


def test_a_forged_header_through_the_proxy_is_replaced(proxy):
    front, _ = proxy
    forged = [
        ("X-Remote-User", "boss"),
        ("X-Remote-User", "boss"),
        ("x-remote-user", "张伟".encode()),
    ]
    status, user = _get(front, [_basic("wang", "w-pass"), *forged])
    assert status == 200 and user == {"id": "wang", "source": "header", "admin": False}


def test_a_repeated_header_past_the_proxy_is_refused(proxy):
    _, back = proxy  # what a client reaching the port directly could send
    status, user = _get(back, [("X-Remote-User", "boss"), ("X-Remote-User", "wang")])
    assert status == 200 and user == {"id": "", "source": "repeated_header", "admin": False}
