"""A project's identity: every spelling of one API URL is one scope, different ones never meet."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import AnyHttpUrl

from bot.errors import InvalidInput
from bot.project import Project, normalize_api_url

pytestmark = pytest.mark.no_redis  # touches no Redis: run in the single-node pass only

HOSTS = st.from_regex(r"[a-z][a-z0-9-]{0,8}(\.[a-z]{2,4}){0,2}", fullmatch=True) | st.sampled_from(
    ["127.0.0.1", "[::1]", "10.0.0.7"]
)
SEGMENTS = st.lists(st.from_regex(r"[a-z0-9_~-]{1,6}", fullmatch=True), max_size=3)
PORTS = st.none() | st.integers(min_value=1, max_value=65535)
IDS = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True)
DEFAULT_PORT = {"http": 80, "https": 443}


@st.composite
def spelling(draw: st.DrawFn, scheme: str, host: str, port: int | None, segments: list[str]) -> str:
    """One of the many ways to write one URL: letter case of scheme and host, the default
    port written out, `.` and `x/..` segments, trailing slashes."""
    cased_scheme = "".join(c.upper() if draw(st.booleans()) else c for c in scheme)
    cased_host = "".join(c.upper() if draw(st.booleans()) else c for c in host)
    if port is None and draw(st.booleans()):
        port = DEFAULT_PORT[scheme]
    written_port = f":{port}" if port is not None else ""
    path = ""
    for segment in segments:
        path += draw(st.sampled_from(["", "/.", "/x/.."])) + "/" + segment
    path += "/" * draw(st.integers(min_value=0, max_value=2))
    return f"{cased_scheme}://{cased_host}{written_port}{path}"


def scope(project_id: str, url: str) -> str:
    return Project(alias="a", api_url=url, project_id=project_id).scope


@given(
    st.sampled_from(["http", "https"]), HOSTS, PORTS, SEGMENTS, IDS, st.data()
)  # fmt: skip
def test_every_spelling_of_one_url_gives_one_identity(
    scheme: str, host: str, port: int | None, segments: list[str], project_id: str,
    data: st.DataObject,
) -> None:  # fmt: skip
    """Item 1: two spellings of one URL (case, default port, `.`, slashes) are one scope."""
    first = data.draw(spelling(scheme, host, port, segments))
    second = data.draw(spelling(scheme, host, port, segments))
    assert scope(project_id, first) == scope(project_id, second), (first, second)
    assert normalize_api_url(first) == normalize_api_url(second)


@given(
    st.tuples(HOSTS, PORTS, SEGMENTS, IDS), st.tuples(HOSTS, PORTS, SEGMENTS, IDS),
    st.sampled_from(["http", "https"]),
)  # fmt: skip
def test_different_projects_or_servers_never_share_an_identity(
    one: tuple[str, int | None, list[str], str],
    other: tuple[str, int | None, list[str], str],
    scheme: str,
) -> None:
    """Item 1: another host, port, path or project id is always another scope."""

    def canonical(host: str, port: int | None, segments: list[str]) -> tuple[str, int, str]:
        return host, port or DEFAULT_PORT[scheme], "/".join(segments)

    def url(host: str, port: int | None, segments: list[str]) -> str:
        return (
            f"{scheme}://{host}" + (f":{port}" if port else "") + "".join("/" + s for s in segments)
        )

    if (canonical(*one[:3]), one[3]) == (canonical(*other[:3]), other[3]):
        return  # the same server and project, spelled alike or not
    assert scope(one[3], url(*one[:3])) != scope(other[3], url(*other[:3]))


def test_the_environment_and_a_stored_project_spell_one_url_alike() -> None:
    """Item 1: the URL pydantic parses for CONVOY_API_URL and a stored one give one scope."""
    env = normalize_api_url(str(AnyHttpUrl("http://localhost:8080/api")))
    assert scope("P1", env) == scope("P1", "HTTP://LocalHost:8080/api/") == "P1@localhost:8080/api"
    assert scope("P1", "https://us.getconvoy.cloud:443/api") == "P1@us.getconvoy.cloud/api"


@pytest.mark.parametrize(
    "url",
    ["http://[::1/api", "ftp://h/api", "http://user:secret@h/api", "http://h/api?x=1", "h/api"],
)
def test_an_api_url_that_is_not_one_plain_http_url_is_refused(url: str) -> None:
    """Item 1: a URL the scope cannot spell whole is refused with one clear sentence."""
    with pytest.raises(InvalidInput) as refused:
        normalize_api_url(url)
    assert "Nothing was changed" in refused.value.message
    assert "secret" not in refused.value.message
