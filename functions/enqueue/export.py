"""A job's leads as a file (contract §3 export): CSV a spreadsheet opens safely, or JSONL as the JSON API shows
leads, streamed a store page at a time so the function's memory does not grow with the number of leads."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Iterator
from typing import Any, Literal

import flask

from leadengine import log as logging_setup
from leadengine.errors import DependencyUnavailable
from leadengine.schemas import Lead

# The function's own modules beside this file (functions-framework puts its directory on sys.path).
# isort: split
import views

Format = Literal["csv", "jsonl"]
CSV_COLUMNS = (
    "lead_id", "company_name", "website", "domain", "emails", "phones", "linkedin_url", "description", "sources",
    "source_urls", "found_at",
)  # fmt: skip
# A spreadsheet runs a cell starting with one of these as a formula (OWASP, CSV injection): such a cell gets a
# leading apostrophe, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@")
BOM = "\ufeff"  # so that Excel reads the file as UTF-8
MEDIA_TYPES: dict[Format, str] = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
PAGE_SIZE = 200  # leads a store read brings: a few hundred KiB at most in memory at once

log = logging_setup.get_logger("enqueue.export")


def csv_cell(value: Any) -> str:
    """One CSV cell: lists joined with "; ", null empty, formula starts guarded."""
    if value is None:
        text = ""
    elif isinstance(value, list):
        text = "; ".join(str(item) for item in value)
    else:
        text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_chunks(pages: Iterable[list[Lead]]) -> Iterator[bytes]:
    """The BOM and header, then one chunk of rows per page. The csv module does the RFC 4180 quoting (CRLF line
    ends, fields with quotes, commas or line breaks quoted, quotes doubled)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield (BOM + _take(buffer)).encode()
    for page in pages:
        for lead in page:
            view = views.lead_view(lead)
            writer.writerow([csv_cell(view[column]) for column in CSV_COLUMNS])
        yield _take(buffer).encode()


def jsonl_chunks(pages: Iterable[list[Lead]]) -> Iterator[bytes]:
    """One lead per line, serialised exactly as the JSON API serialises it."""
    for page in pages:
        yield "".join(
            json.dumps(views.lead_view(lead), ensure_ascii=False, separators=(",", ":")) + "\n" for lead in page
        ).encode()


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def response(job_id: str, fmt: Format, pages: Iterator[list[Lead]]) -> flask.Response:
    """The streamed 200. The first page is read before answering, so that a Firestore outage at the start is a
    proper 503; one later in the stream can only cut the download short (the connection closes without the last
    chunk, so the client sees an incomplete transfer, never a file that looks whole)."""
    first = next(pages, None)
    remaining = itertools.chain([first] if first is not None else [], pages)
    chunks = csv_chunks(remaining) if fmt == "csv" else jsonl_chunks(remaining)
    headers = {"Content-Disposition": f'attachment; filename="leads-{job_id}.{fmt}"'}
    return flask.Response(_logged(job_id, chunks), status=200, content_type=MEDIA_TYPES[fmt], headers=headers)


def _logged(job_id: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except DependencyUnavailable as e:
        log.warning("export_interrupted", job_id=job_id, error=str(e))
        raise
