"""Tokenizer: HAProxy's word cutting (FACTS §1.2) and conditional blocks."""

from __future__ import annotations

import pytest

from haproxy_py.config.diagnostics import Diagnostics
from haproxy_py.config.tokenizer import (
    MAX_LINE_ARGS,
    TokenError,
    _post_split,
    read_lines,
    tokenize_line,
)


def words(line: str, env: dict[str, str] | None = None) -> list[str]:
    w, c = tokenize_line(line, env or {})
    return _post_split(w, c)[0]


def test_plain_words_and_columns() -> None:
    w, c = tokenize_line("    server  s1\t127.0.0.1:80 check")
    assert w == ["server", "s1", "127.0.0.1:80", "check"]
    assert c == [5, 13, 16, 29]


@pytest.mark.parametrize("line,expected", [
    ("a#b c", ["a"]),
    ("global#x", ["global"]),
    ("a \\#b", ["a", "#b"]),
    ("a\\ b\\#c", ["a b#c"]),
    ("x \\\\ y", ["x", "\\", "y"]),
    ("x \\'q\\\"", ["x", "'q\""]),
    ("t \\t\\n\\r", ["t", "\t\n\r"]),
    ("h \\x41\\x7a", ["h", "Az"]),
    ("bind 1.2.3.4:80 \\", ["bind", "1.2.3.4:80", "\\"]),  # no line continuation
    ("u \\q", ["u", "\\q"]),  # unknown escape kept
])
def test_escapes_and_comments(line: str, expected: list[str]) -> None:
    assert words(line) == expected


def test_double_quotes_are_weak() -> None:
    assert words('h X "a b # not a comment"') == ["h", "X", "a b # not a comment"]
    assert words('h "a\\"b"') == ["h", 'a"b']
    assert words("h \"it's\"") == ["h", "it's"]


def test_single_quotes_are_strong() -> None:
    assert words("h 'single $HOME \\n quoted'", {"HOME": "/root"}) == ["h", "single $HOME \\n quoted"]


def test_quotes_glue_to_words() -> None:
    assert words("h \"a\"'b'c") == ["h", "abc"]
    assert words('h ""') == ["h", ""]


def test_env_expansion_only_in_double_quotes() -> None:
    env = {"HOME": "/root", "X": "1", "L": "p q r"}
    assert words('a "${HOME}" $HOME', env) == ["a", "/root", "$HOME"]
    assert words('a "$X"y', env) == ["a", "1y"]
    assert words('a "${NOPE-def}" "${X-def}"', env) == ["a", "def", "1"]
    assert words('a "${NOPE}"', env) == ["a", ""]
    assert words('a "${L[*]}" b', env) == ["a", "p", "q", "r", "b"]


def test_escaped_dollar_in_double_quotes() -> None:
    """2.6: "\\$" inside double quotes is a plain '$' (json_query('\\$.a') in an lf-string);
    outside them the backslash stays (nothing is expanded there anyway)."""
    env = {"X": "1"}
    assert words(r'a "x\$X" y\$X', env) == ["a", "x$X", "y\\$X"]


def test_unmatched_quote_reports_position() -> None:
    with pytest.raises(TokenError) as ei:
        tokenize_line('    http-request set-header X-A "abc')
    assert ei.value.col == 33
    assert ei.value.message == "unmatched quote at position 33:"


def test_unmatched_quote_message_matches_haproxy() -> None:
    d = Diagnostics()
    list(read_lines('frontend fe\n    http-request set-header X-A "abc\n', "f.cfg", {}, d))
    assert d.messages[0].haproxy == (
        "parsing [f.cfg:2]: unmatched quote at position 33:\n"
        '  http-request set-header X-A "abc\n'
        "                              ^")
    assert d.has_errors


def test_read_lines_skips_blank_and_comment_lines() -> None:
    d = Diagnostics()
    lines = list(read_lines("\n# c\n   \nglobal   # x\n\tdaemon\r\n", "f", {}, d))
    assert [(ln.lineno, ln.words) for ln in lines] == [(4, ["global"]), (5, ["daemon"])]
    assert not d.messages


def cond_lines(text: str, env: dict[str, str] | None = None) -> tuple[list[list[str]], Diagnostics]:
    d = Diagnostics()
    return [ln.words for ln in read_lines(text, "f", env or {}, d)], d


def test_if_defined_else() -> None:
    text = ".if defined(FOO)\na\n.else\nb\n.endif\nc\n"
    assert cond_lines(text, {"FOO": ""})[0] == [["a"], ["c"]]
    assert cond_lines(text, {})[0] == [["b"], ["c"]]


def test_elif_and_nesting() -> None:
    text = (".if streq(a,b)\nx\n.elif version_atleast(2.4)\n.if feature(NOSUCH)\nn\n.else\ny\n.endif\n"
            ".else\nz\n.endif\n")
    assert cond_lines(text)[0] == [["y"]]


def test_version_predicates() -> None:
    text = ".if version_before(2.0)\nold\n.endif\n.if version_atleast(2.6)\nnew\n.endif\n"
    assert cond_lines(text)[0] == [["new"]]


def test_negation_and_operators() -> None:
    assert cond_lines(".if !defined(X) && 1\nyes\n.endif\n")[0] == [["yes"]]
    assert cond_lines(".if 0 || defined(X)\nyes\n.endif\n", {"X": "1"})[0] == [["yes"]]
    assert cond_lines(".if 0\nno\n.endif\n")[0] == []


def test_messages_directives() -> None:
    # 2.6 quotes the message; .diag only speaks under -dD; .alert stops the reading
    lines, d = cond_lines('.notice "hello"\n.warning "careful"\n.diag "x"\n.alert "stop"\nafter\n')
    assert [(m.severity, m.haproxy) for m in d.messages] == [
        ("NOTICE", "parsing [f:1]: 'hello'."),
        ("WARNING", "parsing [f:2]: 'careful'."),
        ("ALERT", "parsing [f:4]: 'stop'."),
    ]
    assert d.has_errors and d.aborted and lines == []


def test_message_with_two_arguments_is_an_error() -> None:
    lines, d = cond_lines(".warning  a   b\nnext\n")
    assert [m.haproxy for m in d.messages] == [
        "parsing [f:1]: Unexpected argument 'b' for '.warning'. Use quotes if the message should contain spaces."]
    assert not d.aborted and lines == [["next"]]


@pytest.mark.parametrize("text,message,open_block", [
    (".elif 1\n", "parsing [f:1]: lone '.elif' with no matching '.if'.", False),
    (".else\n", "parsing [f:1]: lone '.else' with no matching '.if'.", False),
    (".endif\n", "parsing [f:1]: lone '.endif' with no matching '.if'.", False),
    (".if 1\n.else\n.else\n.endif\n", "parsing [f:3]: '.else' after '.else' is not permitted.", False),
    (".if 1\n.else\n.elif 1\n.endif\n", "parsing [f:3]: '.elif' after '.else' is not permitted.", False),
    (".if 1\n.endif x\n", "parsing [f:2]: Unexpected argument 'x' for '.endif'.", True),
    (".if 1\n.else x\n.endif\n", "parsing [f:2]: Unexpected argument 'x' for '.else'.", True),
    (".if foo\na\n.endif\n", "parsing [f:1]: unparsable conditional expression 'foo' in '.if' at position 1:\n"
     "  .if foo\n      ^", False),
    (".if 0\n.elif defined(HOME) x\n.endif\n", "parsing [f:2]: unexpected character 'x' at the end of "
     "conditional expression 'defined(HOME) x' in '.elif' at position 15:\n  .elif defined(HOME) x\n"
     + " " * 22 + "^", False),
])
def test_block_errors_stop_the_reading(text: str, message: str, open_block: bool) -> None:
    lines, d = cond_lines(text + "after\n")
    assert d.aborted and lines == []
    assert d.messages[0].haproxy == message
    assert any("non-terminated" in m.haproxy for m in d.messages) == open_block


def test_unknown_directive_and_inactive_garbage() -> None:
    lines, d = cond_lines(".foo\n.if 0\n.bar\n.if nonsense(\n.endif\n.endif\nx\n")
    assert [m.haproxy for m in d.messages] == ["parsing [f:1]: unknown directive '.foo'."]
    assert lines == [["x"]] and not d.aborted


def test_empty_condition_is_false_and_elif_not_evaluated_once_taken() -> None:
    assert cond_lines(".if\na\n.else\nb\n.endif\n")[0] == [["b"]]
    lines, d = cond_lines(".if 1\na\n.elif nonsense\nb\n.endif\n")
    assert lines == [["a"]] and not d.messages


def test_non_terminated_block_reports_the_last_line() -> None:
    _, d = cond_lines("global\n.if 1\n  maxconn 1\n\n")
    assert [m.haproxy for m in d.messages] == ["parsing [f:4]: non-terminated '.if' block."]


def test_messages_in_inactive_block_are_silent() -> None:
    _, d = cond_lines('.if 0\n.alert "x"\n.endif\n')
    assert not d.messages


def test_unbalanced_blocks_are_errors() -> None:
    assert cond_lines(".endif\n")[1].has_errors
    assert cond_lines(".else\n")[1].has_errors
    assert cond_lines(".if 1\na\n")[1].has_errors


def test_too_many_words() -> None:
    line = " ".join(f"w{i}" for i in range(MAX_LINE_ARGS + 5))
    lines, d = cond_lines(line + "\n")
    assert len(lines[0]) == MAX_LINE_ARGS
    assert d.has_errors and "too many words" in d.messages[0].haproxy


def test_nul_byte_and_huge_line_are_errors_not_crashes() -> None:
    _, d = cond_lines("global\n  log \x00 x\n")
    assert d.has_errors and "NUL character" in d.messages[0].haproxy
    _, d = cond_lines("global\n" + "a" * 1_000_000 + "\n")
    assert d.has_errors and "line too long" in d.messages[0].haproxy
