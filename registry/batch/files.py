"""Batch scoring: a CSV split into chunks of whole rows that workers score in parallel.

The file is checked at upload (encoding, header), stored, then split by one pass over its
lines into byte ranges of ``BATCH_CHUNK_ROWS`` rows. Each chunk is read, validated column by
column, predicted in one call and written as its own CSV piece; the last chunk to finish
assembles the pieces in order into the result file. Memory is bounded by the chunk size,
whatever the size of the file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import re
import socket
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

from registry.inference import ModelCannotAnswer, Scores, score
from registry.interface import FrameCheck, Interface, InvalidInput, clip, frame_records
from registry.predict.refusals import refusal_reasons

MAX_ERRORS = 1000
MAX_ROW_BYTES = 1024 * 1024  # one row, quoted newlines included
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SAMPLE_ROWS = 2000
HEAD_ROWS = 10  # rows kept on the job's Prediction record, to show and re-open
# Rows of a job that monitoring reads (drift, data quality, estimated performance): a
# uniform sample of the whole file, kept on the job's record after its first HEAD_ROWS.
# Why 1,000: the drift tests find a 0.3 SD mean shift in ~97% of 300-row samples, so 1,000
# rows leave room for a segment of 10% of a job to reach MIN_ROWS (100) on its own; a
# quality rate of 1% is measured to about ±0.6 points; and the record stays ~100 KB of
# JSON, which the newest-rows readers decode in a few milliseconds.
MONITOR_ROWS = 1000


@dataclass
class Span:
    first_row: int
    rows: int
    byte_start: int
    byte_end: int


def worker_name() -> str:
    """Who is scoring: the RQ worker's name under RQ, else host and process id."""
    try:
        from rq import get_current_job

        job = get_current_job()
        if job is not None and job.worker_name:
            return job.worker_name
    except ImportError:
        pass
    return f"{socket.gethostname()}:{os.getpid()}"


def header_read(upload: IO[bytes]) -> bytes:
    """The header line of an upload, read whole (at most ``MAX_ROW_BYTES``), and the first
    64 KiB after it (to find a file that is not UTF-8 at upload); then rewound."""
    head = upload.readline(MAX_ROW_BYTES + 1)
    if len(head) > MAX_ROW_BYTES:
        upload.seek(0)
        raise ValidationError(
            {"file": [f"The header line is longer than {MAX_ROW_BYTES:,} bytes."]}
        )
    head += upload.read(64 * 1024)
    upload.seek(0)
    return head


def header_check(*, interface: Interface, head: bytes) -> list[str]:
    """The columns of a CSV's header line (``head`` is what :func:`header_read` returns),
    refusing a file the job could not score.

    Raises ``ValidationError`` for an empty file, one that is not UTF-8, a header of more
    than ``BATCH_MAX_COLUMNS`` columns, one that names a column twice, or one that lacks
    required inputs (naming them). Extra columns are allowed and kept in the result.
    """
    if not head.strip():
        raise ValidationError({"file": ["The file is empty."]})
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            raise ValidationError(
                {
                    "file": [
                        f"The file is not UTF-8 text (byte {exc.start} cannot be read). "
                        "Save it as CSV UTF-8 and upload it again."
                    ]
                }
            ) from None
        text = head[: exc.start].decode("utf-8-sig")
    first_line = text.splitlines()[0] if text.splitlines() else ""
    columns = [c.strip() for c in next(csv.reader([first_line]), [])]
    if not any(columns):
        raise ValidationError({"file": ["The first line must be a header of column names."]})
    most = settings.PORTAL["BATCH_MAX_COLUMNS"]
    if len(columns) > most:
        raise ValidationError(
            {
                "file": [
                    f"The header has {len(columns):,} columns; at most {most:,} are accepted. "
                    "Keep the model's inputs and the columns you need to recognise rows."
                ]
            }
        )
    repeated = sorted(clip(c) for c, n in Counter(columns).items() if n > 1)
    if repeated:
        raise ValidationError(
            {"file": [f"The header names these columns more than once: {', '.join(repeated)}."]}
        )
    missing = [f.name for f in interface.fields if f.required and f.name not in columns]
    if missing:
        raise ValidationError(
            {"file": [f"The header lacks required inputs: {', '.join(missing)}."]},
        )
    return columns


def _ends_in_quotes(line: bytes, in_quotes: bool) -> bool:
    """Whether a quoted field is still open at the end of ``line``.

    The rule pandas' reader follows (RFC 4180): a quote opens a quoted field only as the
    first character of a field (after leading spaces); inside one, ``""`` is a quote and a
    lone ``"`` closes it; anywhere else a quote is an ordinary character, as in ``5" screen``.
    Counting quotes instead would let one such cell swallow the rest of the file as one row.
    """
    i, n = 0, len(line)
    while i <= n:
        if in_quotes:
            close = line.find(b'"', i)
            while close != -1 and line[close + 1 : close + 2] == b'"':
                close = line.find(b'"', close + 2)
            if close == -1:
                return True
            in_quotes, i = False, close + 1
            comma = line.find(b",", i)  # text after the closing quote belongs to the field
            if comma == -1:
                return False
            i = comma + 1
            continue
        while i < n and line[i : i + 1] == b" ":
            i += 1
        if line[i : i + 1] == b'"':
            in_quotes, i = True, i + 1
            continue
        comma = line.find(b",", i)
        if comma == -1:
            return False
        i = comma + 1
    return in_quotes


def split(
    handle: IO[bytes], *, chunk_rows: int, chunk_bytes: int | None = None
) -> tuple[bytes, list[Span]]:
    """One pass over the file: its header line and the byte ranges of chunks of whole rows,
    each of at most ``chunk_rows`` rows and (but for a single row) ``chunk_bytes`` bytes.

    A row may span several lines when a quoted field holds a newline; quoted fields are
    tracked (see :func:`_ends_in_quotes`) so such a row is never cut, and a quoted field left
    open for more than ``MAX_ROW_BYTES`` fails the file naming the line it opened on (else
    one row could hold the whole file and defeat the chunks' memory bound). Every line is
    checked to be UTF-8 on the way.
    """
    header = handle.readline()
    position = len(header)
    spans: list[Span] = []
    start, rows_in_chunk, row, open_quotes = position, 0, 0, False
    row_start, row_line = position, 2
    # readline, not iteration: Django's File iterates by chunks() from the start of the file.
    for number, line in enumerate(iter(handle.readline, b""), start=2):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                {"file": [f"Line {number} is not UTF-8 text (byte {exc.start} of the line)."]}
            ) from None
        if not open_quotes:
            row_start, row_line = position, number
        position += len(line)
        if open_quotes or b'"' in line:
            open_quotes = _ends_in_quotes(line, open_quotes)
        if open_quotes:
            if position - row_start > MAX_ROW_BYTES:
                raise ValidationError(
                    {
                        "file": [
                            f"Line {row_line} opens a quoted field that is not closed within "
                            f"{MAX_ROW_BYTES:,} bytes; check the quotes on that line."
                        ]
                    }
                )
            continue
        if not line.strip():
            continue  # a blank line is no row
        rows_in_chunk += 1
        if rows_in_chunk == chunk_rows or (chunk_bytes and position - start >= chunk_bytes):
            spans.append(Span(row, rows_in_chunk, start, position))
            row += rows_in_chunk
            start, rows_in_chunk = position, 0
    if rows_in_chunk:
        spans.append(Span(row, rows_in_chunk, start, position))
    return header, spans


# A column the user keeps to recognise their rows: "id", "customer_id", "Order ID", "key"…
_ID_COLUMN = re.compile(r"(?i)^(id|key|uuid|identifier)$|[ _-]id$|^id[ _-]")


def id_column(columns: list[str], interface: Interface) -> str | None:
    """The file's own row identifier, if it has one: the first column that is not an input
    and is named like an id. Row errors name it, so people find the row in their file."""
    return next(
        (c for c in columns if c not in interface.by_name and _ID_COLUMN.search(c.strip())), None
    )


def header_columns(header: bytes) -> list[str]:
    return [c.strip() for c in next(csv.reader([header.decode("utf-8-sig")]), [])]


def row_texts(body: bytes) -> list[bytes]:
    """The text of each row of a span, without its line ending, as :func:`split` counts rows:
    a quoted field may hold newlines, blank lines are no rows."""
    rows, current, open_quotes = [], [], False
    for line in body.split(b"\n"):
        if not open_quotes and not line.strip():
            continue
        current.append(line)
        if open_quotes or b'"' in line:
            open_quotes = _ends_in_quotes(line, open_quotes)
        if not open_quotes:
            rows.append(b"\n".join(current).rstrip(b"\r"))
            current = []
    if current:
        rows.append(b"\n".join(current).rstrip(b"\r"))
    return rows


def read_span(
    handle: IO[bytes], header: bytes, span: Span, interface: Interface
) -> tuple[list[bytes], pd.DataFrame]:
    """The text of each row of one span, and its rows as a frame of the interface's columns
    and the file's id column only: a file's other columns are carried as text, never parsed
    (200,000 extra columns would cost the worker gigabytes as a frame). Categories, text and
    the id stay text (an id "00123" keeps its zeros)."""
    handle.seek(span.byte_start)
    body = handle.read(span.byte_end - span.byte_start)
    if not header.endswith(b"\n"):
        header += b"\n"
    text_columns = {f.name: str for f in interface.fields if f.type in ("category", "text")}
    kept_id = id_column(header_columns(header), interface)
    wanted = set(interface.names)
    if kept_id:
        text_columns[kept_id] = str
        wanted.add(kept_id)
    frame = pd.read_csv(
        io.BytesIO(header + body),
        dtype=text_columns,
        encoding="utf-8-sig",
        skip_blank_lines=True,
        skipinitialspace=True,
        usecols=lambda column: column.strip() in wanted,
    )
    return row_texts(body), frame


def _bad_rows(estimator: Any, frame: pd.DataFrame, interface: Interface, offset: int = 0):
    """Rows of a frame the model cannot answer, found by halving: O(bad x log rows) calls."""
    try:
        score(estimator, frame, interface)
        return {}
    except InvalidInput as exc:
        return {
            offset + row: " ".join(m for ms in f.values() for m in ms)
            for row, f in exc.row_errors.items()
        }
    except ModelCannotAnswer as exc:
        if len(frame) == 1:
            return {offset: " ".join(exc.messages)}
        mid = len(frame) // 2
        return {
            **_bad_rows(estimator, frame.iloc[:mid], interface, offset),
            **_bad_rows(estimator, frame.iloc[mid:], interface, offset + mid),
        }


def _score_good_rows(estimator: Any, checked: FrameCheck, interface: Interface) -> Scores | None:
    """Score the valid rows; rows the model itself cannot answer join the row errors."""
    try:
        return score(estimator, checked.frame, interface)
    except (ModelCannotAnswer, InvalidInput):
        bad = _bad_rows(estimator, checked.frame, interface)
    positions = np.flatnonzero(checked.good)
    for index, message in bad.items():
        checked.errors[int(positions[index])] = {"inputs": [message]}
        checked.good[positions[index]] = False
    checked.frame = checked.frame.drop(index=checked.frame.index[list(bad)]).reset_index(drop=True)
    return score(estimator, checked.frame, interface) if len(checked.frame) else None


def prediction_columns(
    interface: Interface, scores: Scores | None, good: np.ndarray
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prediction columns for every row (empty where the row was refused) and a summary."""
    n = len(good)
    summary: dict[str, Any] = {"rows": int(good.sum())}
    if interface.task == "regression":
        values = np.full(n, np.nan)
        if scores is not None:
            values[good] = scores.values
        present = values[good]
        summary.update(
            values=present[:: max(1, len(present) // SAMPLE_ROWS)].round(6).tolist(),
            total=float(present.sum()) if len(present) else 0.0,
        )
        return {"prediction": values}, summary
    classes = [str(c) for c in (scores.classes if scores else interface.classes)]
    labels = np.full(n, None, dtype=object)
    columns: dict[str, Any] = {}
    if scores is not None:
        labels[good] = [str(v) for v in scores.labels]
    columns["prediction"] = labels
    counts: dict[str, int] = {c: 0 for c in classes}
    for label in labels[good]:
        counts[label] = counts.get(label, 0) + 1
    summary["class_counts"] = counts
    if scores is not None and scores.probabilities is not None:
        for i, name in enumerate(classes):
            column = np.full(n, np.nan)
            column[good] = scores.probabilities[:, i].round(6)
            columns[f"probability_{name}"] = column
    return columns, summary


def _named(interface: Interface, column: str) -> str:
    """A column as a problem names it: its label, and the file's header name beside it (the
    file's own word, which the person fixes), e.g. "BMI (bmi)"."""
    field = interface.by_name.get(column)
    label = field.spec.get("label") if field else None
    return f"{label} ({column})" if label and label != column else column


def score_span(
    *,
    handle: IO[bytes],
    header: bytes,
    span: Span,
    interface: Interface,
    estimator: Any,
    top_inputs: list[str],
    monitor_share: float = 0.0,
) -> tuple[bytes, list[dict[str, Any]], dict[str, Any]]:
    """Score one span: the CSV piece (no header), its row errors and its summary.

    ``monitor_share``: each answered row joins the job's monitoring sample with this chance
    (seeded by the span, so a retried chunk keeps the same rows); the first ``HEAD_ROWS`` of
    the file are kept anyway, as the head.
    """
    rows, raw = read_span(handle, header, span, interface)
    checked = interface.validate_frame(raw)
    scores = _score_good_rows(estimator, checked, interface) if len(checked.frame) else None
    columns, summary = prediction_columns(interface, scores, checked.good)
    kept_id = id_column(list(raw.columns), interface)
    # "row" counts data rows from 0, as the API's errors do; "line" is the line in the file
    # (the header is line 1), exact when no quoted field spans lines. The file's own id
    # column, when it has one, is named too: it is how people know their rows.
    problems = np.full(len(raw), None, dtype=object)
    errors = []
    for index, fields in sorted(checked.errors.items()):
        message = "; ".join(f"{_named(interface, k)}: {' '.join(v)}" for k, v in fields.items())
        problems[index] = message
        if len(errors) >= MAX_ERRORS:
            continue
        error = {
            "row": span.first_row + index,
            "line": span.first_row + index + 2,
            "fields": fields,
            "message": message,
        }
        errors.append(error | _id_of(raw, kept_id, index))
    columns[PROBLEM_COLUMN] = problems
    # Answered, but from values outside the training range: said on the row itself, so the
    # download carries the caveat wherever the file goes.
    warned = np.full(len(raw), None, dtype=object)
    rows_warned = []
    for index, messages in sorted(checked.row_warnings.items()):
        warned[index] = "; ".join(messages)
        if len(rows_warned) < MAX_WARNED_ROWS:
            rows_warned.append(
                {"row": span.first_row + index, "line": span.first_row + index + 2}
                | _id_of(raw, kept_id, index)
                | {"message": warned[index]}
            )
    columns[WARNINGS_COLUMN] = warned
    # Never overwrite nor repeat a column of the user's: ours get a suffix where they clash.
    columns = dict(
        zip(output_names(header_columns(header), list(columns)), columns.values(), strict=True)
    )
    if scores is not None:
        summary["head"] = {
            "inputs": frame_records(checked.frame.head(HEAD_ROWS)),
            "outputs": scores.records()[:HEAD_ROWS],
        }
        summary["monitor"] = monitor_sample(
            checked.frame,
            scores,
            share=monitor_share,
            skip=HEAD_ROWS if not span.first_row else 0,
            seed=span.first_row,
        )
    summary["refusals"] = refusal_tally(checked.errors, interface.names)
    summary["failed"] = len(checked.errors)
    summary["warnings"] = checked.warning_counts
    summary["warned_rows"] = rows_warned
    summary["warned_count"] = len(checked.row_warnings)
    sample = raw.loc[checked.good, [c for c in top_inputs if c in raw.columns]].head(500)
    summary["sample"] = {
        "inputs": {c: sample[c].tolist() for c in sample.columns},
        "prediction": _sample_predictions(columns, checked.good, len(sample)),
    }
    return _with_columns(rows, columns), errors, summary


def monitor_sample(
    frame: pd.DataFrame, scores: Scores, *, share: float, skip: int, seed: int
) -> dict[str, list[Any]]:
    """A Bernoulli sample (chance ``share``) of a span's answered rows and their answers,
    leaving out its first ``skip`` rows (the file's head, kept already)."""
    if share <= 0 or frame.empty:
        return {"inputs": [], "outputs": []}
    chosen = np.flatnonzero(np.random.default_rng(seed).random(len(frame)) < share)
    chosen = chosen[chosen >= skip]
    return {
        "inputs": frame_records(frame.iloc[chosen]),
        "outputs": [scores.record(int(i)) for i in chosen],
    }


def refusal_tally(
    errors: Mapping[int, Mapping[str, list[str]]], inputs: Sequence[str]
) -> dict[str, int]:
    """Refused rows per ``input|reason`` (as monitoring's data quality counts them)."""
    found: dict[str, int] = {}
    for index, fields in errors.items():
        for name, reason in refusal_reasons(InvalidInput({index: fields}), inputs):
            found[f"{name}|{reason}"] = found.get(f"{name}|{reason}", 0) + 1
    return found


def csv_safe(text: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading ``'``.

    Numbers (``-3.5``, ``+1``) are left alone: a spreadsheet reads them as numbers, not code.
    """
    if text.startswith(FORMULA_STARTS):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


_RISKY_CELL = re.compile(rb"(?:^|,)[=+\-@\t\r]", re.MULTILINE)


def _safe_line(line: bytes) -> bytes:
    """An unquoted CSV line with each risky cell neutralised."""
    if not _RISKY_CELL.search(line):
        return line
    return b",".join(csv_safe(cell).encode() for cell in line.decode("utf-8").split(","))


def _cells(values: Any) -> list[str]:
    """One column as CSV cells: repr for numbers (exact, and far quicker than to_csv), empty
    for a missing value, quoted where a label needs it, neutralised where it would be a
    formula."""
    cells = []
    for v in values.tolist() if hasattr(values, "tolist") else values:
        if v is None or (isinstance(v, float) and v != v):
            cells.append("")
        elif isinstance(v, str):
            v = csv_safe(v)
            cells.append(
                f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in ',"\r\n') else v
            )
        else:
            cells.append(repr(v))
    return cells


def _safe_row(row: bytes) -> bytes:
    """A row's text with each cell a spreadsheet would run as a formula neutralised; the
    text as it was when there is none. Only a row with quotes is parsed (as CSV) for this."""
    if b'"' not in row:
        return _safe_line(row)
    cells = next(csv.reader(io.StringIO(row.decode("utf-8"), newline="")), [])
    if all(csv_safe(cell) == cell for cell in cells):
        return row
    out = io.StringIO()  # "\n" as terminator, so a cell holding one is quoted
    csv.writer(out, lineterminator="\n").writerow([csv_safe(cell) for cell in cells])
    return out.getvalue()[:-1].encode()


def _with_columns(rows: list[bytes], columns: dict[str, Any]) -> bytes:
    """The span's rows as they were sent, with the prediction columns appended.

    The input text is kept byte for byte (no re-formatting of numbers, ids or dates, every
    column kept, read or not), except cells a spreadsheet would run as formulas; only the new
    columns are serialised.
    """
    added = [",".join(row).encode() for row in zip(*map(_cells, columns.values()), strict=True)]
    if len(rows) != len(added):  # split, row_texts and pandas count rows alike; never seen
        raise ValueError(f"{len(rows)} rows of text but {len(added)} rows read.")
    text = b"\n".join(rows)  # one scan of the whole span finds whether any row needs a look
    if b'"' in text or _RISKY_CELL.search(text):
        rows = [_safe_row(row) for row in rows]
    return b"".join(row + b"," + new + b"\n" for row, new in zip(rows, added, strict=True))


def _id_of(raw: pd.DataFrame, kept_id: str | None, index: int) -> dict[str, Any]:
    """The file's own id of a row, as a row error or warning names it ({} without one)."""
    if kept_id is None:
        return {}
    value = raw[kept_id].iloc[index]
    return {"id": {"column": kept_id, "value": "" if pd.isna(value) else str(value)}}


def _sample_predictions(columns: dict[str, Any], good: np.ndarray, n: int) -> list[Any]:
    values = next(iter(columns.values()))[good][:n]  # the prediction column comes first
    return [v if isinstance(v, str) else round(float(v), 6) for v in values]


# The column of the result that says why a row got no answer (empty for the rows scored).
PROBLEM_COLUMN = "problem"
# The column that says which of a row's values lie outside the training range.
WARNINGS_COLUMN = "warnings"
# Rows with warnings the job keeps to name on its page (the download has them all).
MAX_WARNED_ROWS = 200


def output_names(user_columns: list[str], names: list[str]) -> list[str]:
    """Our column names, each suffixed (``prediction_2``…) if the user's file already has it:
    a result never overwrites nor repeats one of the user's columns."""
    taken, result = set(user_columns), []
    for name in names:
        final, n = name, 1
        while final in taken:
            n += 1
            final = f"{name}_{n}"
        taken.add(final)
        result.append(final)
    return result


def output_header(header: bytes, interface: Interface, classes: list[str]) -> bytes:
    """The result's header: the user's line (formula-like names neutralised), then ours."""
    extra = ["prediction"]
    if interface.task == "classification":
        extra += [f"probability_{c}" for c in classes]
    extra += [PROBLEM_COLUMN, WARNINGS_COLUMN]
    user_columns = header_columns(header)
    extra = output_names(user_columns, extra)
    line = header.rstrip(b"\r\n").decode("utf-8-sig")
    if any(csv_safe(c) != c for c in user_columns):
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow([csv_safe(c) for c in user_columns])
        line = out.getvalue()
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([csv_safe(c) for c in extra])
    return (line + "," + out.getvalue()).encode()


def merge_summaries(task: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One summary for the job from its chunks' summaries."""
    merged: dict[str, Any] = {"rows": sum(p.get("rows", 0) for p in parts)}
    if task == "regression":
        values = [v for p in parts for v in p.get("values", [])]
        merged["values"] = values[:: max(1, len(values) // SAMPLE_ROWS)]
        merged["mean"] = (
            sum(p.get("total", 0.0) for p in parts) / merged["rows"] if merged["rows"] else None
        )
    else:
        counts: dict[str, int] = {}
        for p in parts:
            for label, n in p.get("class_counts", {}).items():
                counts[label] = counts.get(label, 0) + n
        merged["class_counts"] = counts
    warnings: dict[str, int] = {}
    for p in parts:
        for name, n in p.get("warnings", {}).items():
            warnings[name] = warnings.get(name, 0) + n
    merged["warnings"] = warnings
    warned = sorted((w for p in parts for w in p.get("warned_rows", [])), key=lambda w: w["row"])
    merged["warned_rows"] = warned[:MAX_WARNED_ROWS]
    merged["warned_count"] = sum(p.get("warned_count", 0) for p in parts)
    sample_inputs: dict[str, list[Any]] = {}
    sample_predictions: list[Any] = []
    for p in parts:
        sample = p.get("sample") or {}
        if len(sample_predictions) >= 500:
            break
        for name, values in (sample.get("inputs") or {}).items():
            sample_inputs.setdefault(name, []).extend(values)
        sample_predictions.extend(sample.get("prediction") or [])
    merged["sample"] = {"inputs": sample_inputs, "prediction": sample_predictions}
    return merged


def store_bytes(path: str, data: bytes) -> str:
    if default_storage.exists(path):
        default_storage.delete(path)
    return default_storage.save(path, ContentFile(data))


def store_upload(path: str, upload: File) -> str:
    return default_storage.save(path, upload)


def concatenate(paths: list[str], header: bytes, target: str) -> str:
    """Join the pieces in order under one header, streaming (bounded memory)."""

    def pieces() -> Iterator[bytes]:
        yield header
        for path in paths:
            with default_storage.open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    yield block

    class _Stream(io.RawIOBase):
        def __init__(self):
            self._iter, self._buffer = pieces(), b""

        def readable(self):
            return True

        def readinto(self, target_buffer):
            while not self._buffer:
                try:
                    self._buffer = next(self._iter)
                except StopIteration:
                    return 0
            n = min(len(target_buffer), len(self._buffer))
            target_buffer[:n], self._buffer = self._buffer[:n], self._buffer[n:]
            return n

    if default_storage.exists(target):
        default_storage.delete(target)
    return default_storage.save(target, File(io.BufferedReader(_Stream(), 1 << 20)))


def chunk_rows() -> int:
    return settings.PORTAL["BATCH_CHUNK_ROWS"]


def chunk_bytes() -> int:
    return settings.PORTAL["BATCH_CHUNK_BYTES"]


def _decimals_of(values: list[Any]) -> int:
    """The most decimals any of these numbers is written with (0 for whole numbers)."""
    most = 0
    for v in values:
        if isinstance(v, float) and math.isfinite(v) and not v.is_integer():
            most = max(most, len(repr(v).partition(".")[2].rstrip("0")))
    return most


def result_decimals(version: Any) -> dict[str, int]:
    """How many decimals each answer column of a result is worth, by column.

    Probabilities: three (a tenth of a percent). A predicted value: one decimal finer than
    the target was recorded with in the reference data (whole-number targets get one), at
    most four. The stored file keeps full precision; this is what people are shown and
    download unless they ask for it.
    """
    output = version.interface["output"]
    if output["task"] == "classification":
        return {f"probability_{c}": 3 for c in output.get("classes") or []}
    target = output.get("target")
    values = [row.get(target) for row in version.reference_sample[:500]] if target else []
    return {"prediction": min(4, _decimals_of(values) + 1)}


def round_cells(row: list[str], places: dict[int, int]) -> list[str]:
    """A CSV row with the cells at ``places`` (index -> decimals) rounded; text kept."""
    for index, decimals in places.items():
        if index < len(row) and row[index]:
            with contextlib.suppress(ValueError):  # text in an answer column stays as it is
                row[index] = f"{float(row[index]):.{decimals}f}"
    return row


def rounded_result(handle: IO[bytes], decimals: dict[str, int]) -> Iterator[bytes]:
    """A result file with its answer columns rounded (``result_decimals``), as CSV lines."""
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return
    places = {}
    for name, places_of in decimals.items():
        # Ours are appended last, suffixed (prediction_2) where the user's file had the name.
        ours = [i for i, h in enumerate(header) if re.fullmatch(rf"{re.escape(name)}(_\d+)?", h)]
        if ours:
            places[ours[-1]] = places_of
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for n, row in enumerate(reader, start=1):
        writer.writerow(round_cells(row, places))
        if n % 2000 == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode()
