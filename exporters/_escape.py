r"""Names made safe in one place: one function per output language.

Every piece of user text (layer, tensor, graph and module names, class names) that
reaches an output goes through exactly one of these:

- :func:`dot_string`   a complete DOT double-quoted string, for any DOT attribute value;
- :func:`mermaid_string` a complete Mermaid ``"..."`` label, for node, subgraph and edge labels;
- :func:`xml_text`     text or attribute content for HTML and SVG;
- :func:`script_json`  a JSON document to embed in an HTML ``<script type="application/json">``.

Identifiers are never made from names: exporters generate them (``n0``, ``c1``...),
so no keyword (``end``, ``graph``, ``node``, ``subgraph``) can ever be an id.

All three accept any ``str`` (lone surrogates, NUL and other control characters,
newlines included) and return text that the consumer shows literally: nothing in
a name can start a tag, an entity, an escape sequence or a new statement.

>>> print(dot_string('say "hi" &amp; \\N'))
"say \"hi\" &amp;amp; \\N"
>>> print(mermaid_string('end --> <script>'))
"end #45;#45;#62; #60;script#62;"
>>> xml_text('<a onclick="x">')
'&lt;a onclick=&quot;x&quot;&gt;'
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0/C1 controls (and DEL) are not text; XML 1.0 forbids most of them outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Lone surrogates cannot be encoded as UTF-8 at all.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029")


def _clean(text: str) -> str:
    """Printable text: surrogates become U+FFFD, tabs a space, other controls vanish."""
    text = _SURROGATE.sub("\ufffd", str(text))
    text = text.replace("\t", " ")
    return _CONTROL.sub("", text)


def dot_string(text: str) -> str:
    r"""``text`` as one DOT quoted string that Graphviz shows literally.

    A newline in ``text`` becomes a centred line break (``\n``); a backslash is
    doubled, so no Graphviz escape (``\N``, ``\G``, ``\l``) can be formed; ``&``
    becomes ``&amp;``, because Graphviz decodes HTML entities in plain labels and
    ``&#0;`` would otherwise reach the SVG as an invalid character reference.
    The result starts and ends with ``"`` so that pydot passes it through untouched.
    """
    text = _clean(text)
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")
    text = _NEWLINES.sub(r"\\n", text)
    return f'"{text}"'


# Characters kept as they are in Mermaid labels; everything else becomes an entity
# code (``#60;``), which Mermaid turns into a character only after parsing.
_MERMAID_SAFE = re.compile(r"[ A-Za-z0-9_.,:/+=*^~@!?$']")


def mermaid_string(text: str) -> str:
    """``text`` as one Mermaid quoted label (``"..."``) that renders literally.

    Letters and digits (any script), spaces and a few inert ASCII marks stay as they are;
    every other character becomes a numeric entity code ``#N;``.
    So no quote, bracket, pipe, ``%%``, backtick (Markdown string), ``-->`` or tag
    survives as syntax, and keywords such as ``end`` are inert inside the quotes.
    Newlines become a ``<br>`` line break.
    """
    out: list[str] = []
    for line_no, line in enumerate(_NEWLINES.split(_clean(text))):
        if line_no:
            out.append("<br>")
        for ch in line:
            if ch.isalnum() or _MERMAID_SAFE.fullmatch(ch):
                out.append(ch)
            else:
                out.append(f"#{ord(ch)};")
    return '"' + "".join(out) + '"'


def xml_text(text: str) -> str:
    """``text`` as XML/HTML character data or attribute content (quotes escaped)."""
    text = _clean(text)
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


# Characters that could end a <script> element or start markup inside one, and the two
# line separators that old JavaScript parsers treat as newlines.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_UNSAFE_RE = re.compile("[<>&\u2028\u2029]")


def script_json(value: Any) -> str:
    r"""``value`` as JSON that is inert inside ``<script type="application/json">``.

    ``<``, ``>``, ``&`` and U+2028/U+2029 become ``\uXXXX`` escapes (they can only occur
    inside JSON strings, where ``JSON.parse`` turns them back), so no ``</script>`` or
    ``<!--`` can appear; lone surrogates become U+FFFD so that the text is valid UTF-8.

    >>> script_json({"name": "</script><b>&"})
    '{"name":"\\u003c/script\\u003e\\u003cb\\u003e\\u0026"}'
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = _SURROGATE.sub("\ufffd", text)
    return _SCRIPT_UNSAFE_RE.sub(lambda m: _SCRIPT_UNSAFE[m.group(0)], text)


# --- tables (exporters/table.py) -------------------------------------------------------
_LATEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    # ligatures and smart quotes that would change the text: `` -- '' << >>
    "`": r"\textasciigrave{}",
    "'": r"\textquotesingle{}",
    '"': r"\textquotedbl{}",
    "-": "-{}",
}
_LATEX_SPECIAL = re.compile(r"[\\{}$&#%_~^<>|`'\"-]")


def latex_text(text: str) -> str:
    r"""``text`` as LaTeX body text that typesets literally (one pass, so no escape is escaped again).

    >>> print(latex_text(r"a_b & 50% $x$ #1 {y} ~ ^ \z"))
    a\_b \& 50\% \$x\$ \#1 \{y\} \textasciitilde{} \textasciicircum{} \textbackslash{}z
    """
    text = _NEWLINES.sub(" ", _clean(text))
    return _LATEX_SPECIAL.sub(lambda m: _LATEX[m.group()], text)


_MARKDOWN_PUNCT = re.compile(r"[\\`*_{}\[\]<>()#+\-!|~&$]")


def markdown_text(text: str) -> str:
    r"""``text`` as one Markdown table cell: every mark that can start syntax (``|``,
    emphasis, code, links, tags, entities, math) backslash-escaped, as CommonMark allows.

    >>> print(markdown_text("a|b *c* <i>"))
    a\|b \*c\* \<i\>
    """
    text = _NEWLINES.sub(" ", _clean(text))
    return _MARKDOWN_PUNCT.sub(lambda m: "\\" + m.group(), text)


__all__ = ["dot_string", "latex_text", "markdown_text", "mermaid_string", "script_json", "xml_text"]
