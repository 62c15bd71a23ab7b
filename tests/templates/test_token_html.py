from lib.templates.pieces import TokenPiece, pieces_from_bytes
from lib.templates.token_html import SPECIAL_STYLE, tokens_html


def test_text_is_escaped_and_whitespace_drawn():
    html = tokens_html([TokenPiece(1, "<script>"), TokenPiece(2, " a\tb\n")])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "·" in html and "→" in html and "↵" in html
    assert "\n" not in html  # a raw newline would end Markdown's HTML block


def test_special_tokens_marked_and_ids_shown():
    html = tokens_html([TokenPiece(151644, "<|im_start|>", special=True), TokenPiece(9, "x")],
                       show_ids=True)
    assert SPECIAL_STYLE in html and ">151644</sub>" in html and "id 151644 (special)" in html
    assert SPECIAL_STYLE not in tokens_html([TokenPiece(1, "<|im_start|>", True)],
                                            highlight_special=False)


def test_a_character_split_over_tokens_is_shown_once_whole():
    emoji = "🙂".encode()
    pieces = pieces_from_bytes([1, 2, 3], [b"a", emoji[:2], emoji[2:]])
    assert [p.text for p in pieces] == ["a", "", "🙂"]
    assert pieces[1].is_fragment and pieces[1].partial_bytes == emoji[:2]
    assert "f0 9f" in tokens_html(pieces)


def test_an_id_stays_on_the_line_of_its_token():
    html = tokens_html([TokenPiece(198, "\n"), TokenPiece(9, "x")], show_ids=True)
    assert html.index(">198</sub>") < html.index("<br>")
