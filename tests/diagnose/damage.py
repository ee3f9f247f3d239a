#!/usr/bin/env python3
"""Writes a mail- or forum-damaged copy of a corpus log, the way the log
reaches a reader of a list or a forum thread.

    damage.py STYLE IN OUT

Styles (each what one real path does to the text):
  quote     a reply's quote: `> ` in front of each line.
  qp        a mailer's quoted-printable body (RFC 2045 6.7, as Python's
            quopri writes it): `=` written `=3D`, lines longer than 76
            columns broken with a soft line break (`=` at the end).
  qp-binary the same body encoded from the file as bytes: each line end
            written `=0A`, so the log's lines run together and are broken
            only at the 76th column (a line that ends at the margin ends
            `=0A=`).
  rewrap    a reply whose mailer re-fills the quoted text: every line cut
            at the last space before column 76, each piece quoted `> `.
  code      a forum post in [code] tags.
  post      a forum post in [quote] tags rather than [code]: the page's
            HTML drops each line's leading whitespace and folds runs of
            spaces into one, and the engine's typography filter turns
            straight quotes typographic (' -> U+2018/U+2019, " -> U+201C/
            U+201D); the copy is what a reader copies from the page.

The copies in tests/diagnose were written with this script from the clean
logs beside them; the output is deterministic.
"""

import quopri
import sys


def quote(text):
    return "".join("> " + l for l in text.splitlines(keepends=True))


def qp(text):
    return quopri.encodestring(text.encode()).decode()


def qp_binary(text):
    # Every byte that is not printable ASCII or is `=` is escaped, the line
    # ends among them; the result is cut at 75 characters plus a soft `=`,
    # never inside an escape.
    enc = []
    for b in text.encode():
        if b == ord("=") or b < 0x20 or b > 0x7E:
            enc.append("=%02X" % b)
        else:
            enc.append(chr(b))
    out, line = [], ""
    for tok in enc:
        if len(line) + len(tok) > 75:
            out.append(line + "=\n")
            line = ""
        line += tok
    out.append(line + "\n")
    return "".join(out)


def rewrap(text, width=76):
    out = []
    for l in text.splitlines():
        l = "> " + l
        while len(l) > width:
            cut = l.rfind(" ", 2, width)
            if cut <= 2:
                cut = width
            out.append(l[:cut])
            l = "> " + l[cut:].lstrip(" ")
        out.append(l)
    return "\n".join(out) + "\n"


def code(text):
    return "[code]" + text.rstrip("\n") + "[/code]\n"


def post(text):
    lines = [" ".join(l.split()) for l in text.splitlines()]
    return "[quote]" + typographic("\n".join(lines)) + "[/quote]\n"


def typographic(text):
    out = []
    for l in text.splitlines(keepends=True):
        s, prev = [], " "
        for c in l:
            if c in "'\"":
                opening = prev in " \t([{,=:"
                if c == "'":
                    c = "\u2018" if opening else "\u2019"
                else:
                    c = "\u201c" if opening else "\u201d"
            s.append(c)
            prev = c
        out.append("".join(s))
    return "".join(out)


STYLES = {
    "quote": quote,
    "qp": qp,
    "qp-binary": qp_binary,
    "rewrap": rewrap,
    "code": code,
    "post": post,
}

if __name__ == "__main__":
    style, src, dst = sys.argv[1:4]
    with open(src, encoding="utf-8") as f:
        text = f.read()
    with open(dst, "w", encoding="utf-8", newline="\n") as f:
        f.write(STYLES[style](text))
