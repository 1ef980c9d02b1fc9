"""Finding the JSON in a model's reply.

Models wrap their JSON in prose ("Here is the invoice: ...") and often in a Markdown
fence. The reply's JSON is, in this order:

1. the body of the first fenced ```` ```json ```` block (to the end of the text if
   the fence is never closed, as when a reply is cut off at ``max_tokens``);
2. else the outermost JSON object or array: the first ``{`` or ``[`` from which a
   whole JSON value decodes (everything inside it is part of it);
3. else nothing (:func:`extract_json` returns ``None``; the caller validates the
   whole text, so a bare ``42`` or ``"yes"`` reply still counts).

Prose around the JSON is never an error; a fence whose body is not valid JSON is
still the reply's JSON, and fails validation as such.
"""

from __future__ import annotations

import re
import json
from typing import Optional

__all__ = ["extract_json", "json_text_of"]

# ```json (any case, anything after it on the line), then the body up to the closing fence or the end.
_FENCE = re.compile(r"```[ \t]*json\b[^\n]*\n(.*?)(?:```|\Z)", re.IGNORECASE | re.DOTALL)
_OPENERS = re.compile(r"[\[{]")
_DECODER = json.JSONDecoder()


def extract_json(text: str) -> Optional[str]:
    """The JSON text in a model's reply: the first ```json block, else the outermost object or array; else None."""
    fenced = _FENCE.search(text)
    if fenced is not None:
        return fenced.group(1).strip()
    for opener in _OPENERS.finditer(text):
        start = opener.start()
        try:
            _, end = _DECODER.raw_decode(text, start)
        except ValueError:
            continue
        return text[start:end]
    return None


def json_text_of(reply: str) -> str:
    """What to validate for ``reply``: its extracted JSON, or the whole reply (stripped) when it has none."""
    found = extract_json(reply)
    return found if found is not None else reply.strip()
