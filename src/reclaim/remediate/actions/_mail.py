"""Finding and moving messages for the recovery actions, always by immutable id.

A message moved with Graph gets a new id unless the request asks for immutable ids (``Prefer:
IdType="ImmutableId"``), so every read and move here sends that header: the ids in a snapshot still name the
same messages after they moved, which is what verification and undo need. Messages are found by internet
message id (the one id every copy of a mail keeps, in every mailbox)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from reclaim.m365 import NotFound
from reclaim.remediate.actions._base import ActionContext
from reclaim.remediate.model import JSON

IMMUTABLE = {"Prefer": 'IdType="ImmutableId"'}
SELECT = "id,internetMessageId,subject,parentFolderId,receivedDateTime,from,bodyPreview"
#: The folder paths the audit log writes, mapped to Graph's well-known names.
WELL_KNOWN_PATHS = {"inbox": "inbox", "sent items": "sentitems", "deleted items": "deleteditems",
                    "junk email": "junkemail", "archive": "archive", "drafts": "drafts",
                    "conversation history": "conversationhistory"}
RECOVERABLE = "recoverableitemsdeletions"


def mailbox_path(mailbox: str) -> str:
    return f"/users/{quote(mailbox, safe='@')}"


def quoted(value: str) -> str:
    return value.replace("'", "''")


async def listing(ctx: ActionContext, mailbox: str, url: str, params: dict[str, str]) -> list[JSON]:
    """Every message of a (filtered) listing, with immutable ids."""
    out: list[JSON] = []
    ctx.count()
    async for item in ctx.conn.graph.paged(url, params, headers=IMMUTABLE, mailbox=mailbox):
        out.append(brief(item))
    return out


def brief(item: JSON) -> JSON:
    sender = ((item.get("from") or {}).get("emailAddress") or {}).get("address")
    return {"id": item.get("id"), "internetMessageId": item.get("internetMessageId"),
            "subject": item.get("subject"), "parentFolderId": item.get("parentFolderId"),
            "receivedDateTime": item.get("receivedDateTime"), "from": sender,
            "bodyPreview": item.get("bodyPreview")}


async def by_internet_id(ctx: ActionContext, mailbox: str, imid: str) -> JSON:
    """Where the copies of one mail are: ``{"folders": [...], "recoverable": [...]}`` (message folders; Recoverable
    Items, Deletions)."""
    params = {"$filter": f"internetMessageId eq '{quoted(imid)}'", "$select": SELECT}
    base = mailbox_path(mailbox)
    folders = await listing(ctx, mailbox, f"{base}/messages", params)
    recoverable = await listing(ctx, mailbox, f"{base}/mailFolders/{RECOVERABLE}/messages", params)
    return {"folders": folders, "recoverable": recoverable}


async def folder_id(ctx: ActionContext, mailbox: str, folder: str) -> str | None:
    """The Graph id of a folder (well-known name or id), or ``None`` when the mailbox has no such folder."""
    try:
        body = await ctx.graph_get(f"{mailbox_path(mailbox)}/mailFolders/{quote(folder, safe='')}",
                                   {"$select": "id"}, mailbox=mailbox)
    except NotFound:
        return None
    return str(body.get("id") or "") or None


async def move(ctx: ActionContext, mailbox: str, message_id: str, destination: str) -> JSON:
    """Move one message (by immutable id); the request as it is journaled."""
    url = f"{mailbox_path(mailbox)}/messages/{quote(message_id, safe='')}/move"
    body = {"destinationId": destination}
    ctx.count()
    await ctx.conn.graph.request("POST", url, json=body, headers=IMMUTABLE, mailbox=mailbox, idempotent=True)
    return {"method": "POST", "url": url, "body": body}


def text_of(value: Any) -> str:
    return str(value or "").casefold()


#: What a purge needs to know of a copy: where it is and who sent it (no subject or text of other people's mail).
COPY_SELECT = "id,internetMessageId,parentFolderId,from"


async def find_many(ctx: ActionContext, wanted: list[tuple[str, str]], select: str = SELECT) -> list[list[JSON]]:
    """The copies in the message folders of each (mailbox, internet message id), through ``$batch`` (20 reads per
    envelope, envelopes in parallel); a result with more pages is followed to its end."""
    from reclaim.m365 import BatchRequest

    requests = [BatchRequest("GET", f"{mailbox_path(box)}/messages?$filter=internetMessageId eq "
                             f"'{quote(quoted(imid), safe='')}'&$select={select}", headers=IMMUTABLE, mailbox=box)
                for box, imid in wanted]
    ctx.count(len(requests))
    results = await ctx.conn.graph.batch(requests)
    out: list[list[JSON]] = []
    for (box, _imid), result in zip(wanted, results, strict=True):
        body = result.json() or {}
        found = [brief(m) for m in body.get("value") or []]
        link = body.get("@odata.nextLink")
        if link:
            found += await listing(ctx, box, str(link), {})
        out.append(found)
    return out


async def move_many(ctx: ActionContext, moves: list[tuple[str, str, str]]) -> list[JSON]:
    """Move (mailbox, immutable id, destination) through ``$batch``; the requests as they are journaled. A move
    that fails raises its error once every other move was sent (the step is then re-read and resumable)."""
    from reclaim.m365 import BatchRequest

    requests = [BatchRequest("POST", f"{mailbox_path(box)}/messages/{quote(mid, safe='')}/move",
                             body={"destinationId": dest}, headers=IMMUTABLE, mailbox=box, idempotent=True)
                for box, mid, dest in moves]
    ctx.count(len(requests))
    results = await ctx.conn.graph.batch(requests)
    for result in results:
        result.json()  # raises the first failure's typed error
    return [{"method": r.method, "url": r.url, "body": r.body} for r in requests]
