"""Tokens as HTML: coloured boundaries, control tokens marked, whitespace made visible, ids.

Pure string building (no Streamlit), so the page only passes the result to st.markdown. The
HTML has no raw newlines: Markdown would end an HTML block at a blank line.
"""

from __future__ import annotations

from html import escape

from lib.templates.pieces import TokenPiece

# Pale backgrounds that stay readable on Streamlit's light and dark themes (text forced dark).
BOUNDARY_COLOURS = ("#ffd6a5", "#caffbf", "#9bf6ff", "#bdb2ff", "#ffc6ff", "#fdffb6")
SPECIAL_STYLE = "background:#3b1f7a;color:#fff;font-weight:600"
VISIBLE = {" ": "·", "\t": "→", "\r": "␍"}
NEWLINE = '<span style="opacity:.55">↵</span><br>'


def visible_text(text: str) -> str:
    """HTML for `text` with spaces, tabs and newlines drawn (· → ↵) so the class sees them."""
    out = []
    for char in text:
        if char == "\n":
            out.append(NEWLINE)
        elif char in VISIBLE:
            out.append(f'<span style="opacity:.55">{VISIBLE[char]}</span>')
        else:
            out.append(escape(char))
    return "".join(out)


def fragment_label(token: TokenPiece) -> str:
    """A token that holds part of a character: its bytes, as hex."""
    return escape(" ".join(f"{b:02x}" for b in token.partial_bytes) or "…")


def tokens_html(tokens: tuple[TokenPiece, ...] | list[TokenPiece], *, boundaries: bool = True,
                highlight_special: bool = True, show_ids: bool = False) -> str:
    """One <div> with a span per token."""
    spans = []
    for index, token in enumerate(tokens):
        styles = ["border-radius:3px", "padding:1px 0"]
        if token.special and highlight_special:
            styles.append(SPECIAL_STYLE)
        elif boundaries:
            styles.append(f"background:{BOUNDARY_COLOURS[index % len(BOUNDARY_COLOURS)]};color:#111")
        body = (f'<span style="opacity:.6">{fragment_label(token)}</span>' if token.is_fragment
                else visible_text(token.text))
        breaks = ""  # a token ending in new lines: its id stays on its own line, the break after
        while body.endswith("<br>"):
            body, breaks = body.removesuffix("<br>"), breaks + "<br>"
        if show_ids:
            body += f'<sub style="opacity:.7;font-size:.7em">{token.id}</sub>'
        kind = " (special)" if token.special else ""
        spans.append(f'<span title="id {token.id}{kind}" style="{";".join(styles)}">{body}</span>'
                     f'{breaks}')
    return ('<div style="font-family:ui-monospace,monospace;font-size:.9em;line-height:1.9;'
            f'overflow-wrap:anywhere">{"".join(spans)}</div>')
