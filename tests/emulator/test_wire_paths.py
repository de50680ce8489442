"""Ids that hold "/" or "%" (inbox rule ids are base64) reach handlers whole, as Graph reads an escaped path."""

from __future__ import annotations

from reclaim.emulator.wire import ApiResponse, Router, path_from_wire


def test_an_escaped_slash_stays_inside_its_segment() -> None:
    router = Router()

    @router.add("GET", "/users/{user}/mailFolders/{folder}/messageRules/{rule}", permissions=())
    def _rule(req: object, user: str, folder: str, rule: str) -> ApiResponse:
        return ApiResponse(200, {})

    path = path_from_wire("/users/alice%40contoso.com/mailFolders/inbox/messageRules/AQAA%2Fb%2B%3D%25x")
    assert path == "/users/alice@contoso.com/mailFolders/inbox/messageRules/AQAA%2Fb+=%25x"
    found = router.match("GET", path)
    assert isinstance(found, tuple)
    assert found[1] == {"user": "alice@contoso.com", "folder": "inbox", "rule": "AQAA/b+=%x"}
    # an unescaped "/" is a segment boundary: that path has no such route
    assert not router.match("GET", path_from_wire("/users/a/mailFolders/inbox/messageRules/AQAA/b"))
