"""Channel regexes (Java syntax) compiled with the ``regex`` package to behave like Java's.

Channel metadata patterns are written for ``java.util.regex.Pattern`` compiled with
``CASE_INSENSITIVE``: case folding is ASCII-only and ``\\w``, ``\\d``, ``\\s``, ``\\b`` are ASCII
classes. ``regex.ASCII`` gives exactly that (``é`` does not match ``É``, the Kelvin sign does not
match ``k``). ``regex`` (unlike ``re``) also supports the variable-width look-behinds, possessive
quantifiers and atomic groups that Java accepts. The few escapes that differ are rewritten first.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

# Java's line terminators; ``\\Z`` in Java matches before a final one of them.
_JAVA_FINAL_TERMINATOR = r"(?=(?:\r\n|[\n\r\u0085\u2028\u2029])?\Z)"

FLAGS = regex.IGNORECASE | regex.ASCII | regex.VERSION0


@dataclass(frozen=True, slots=True)
class CompiledRegex:
    """A channel pattern and its compiled form; matching is a *search*, as Java's ``find()``."""

    source: str
    pattern: regex.Pattern[str]

    def search(self, text: str) -> bool:
        """True if the pattern matches anywhere in ``text``."""
        return self.pattern.search(text) is not None


def translate(java_pattern: str) -> str:
    """Rewrite the Java-only escapes ``\\Q..\\E``, ``\\z`` and ``\\Z`` into ``regex`` syntax."""
    out: list[str] = []
    i = 0
    n = len(java_pattern)
    while i < n:
        ch = java_pattern[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = java_pattern[i + 1]
        if nxt == "Q":
            end = java_pattern.find("\\E", i + 2)
            literal = java_pattern[i + 2 :] if end < 0 else java_pattern[i + 2 : end]
            out.append(regex.escape(literal, special_only=True))
            i = n if end < 0 else end + 2
        elif nxt == "z":
            out.append(r"\Z")
            i += 2
        elif nxt == "Z":
            out.append(_JAVA_FINAL_TERMINATOR)
            i += 2
        else:
            out.append(java_pattern[i : i + 2])
            i += 2
    return "".join(out)


def compile_java(java_pattern: str) -> CompiledRegex:
    """Compile a Java pattern case-insensitively; raises ``regex.error`` when malformed."""
    return CompiledRegex(java_pattern, regex.compile(translate(java_pattern), FLAGS))


def try_compile_java(java_pattern: str) -> tuple[CompiledRegex | None, str | None]:
    """Compile a Java pattern; a malformed one yields ``(None, warning)`` worded as the reference does."""
    try:
        return compile_java(java_pattern), None
    except (regex.error, ValueError, OverflowError) as exc:
        return None, f"The package metadata contains a malformed regex: {describe_error(java_pattern, exc)}"


def describe_error(java_pattern: str, exc: Exception) -> str:
    """A Java-like description of a syntax error: message, index and the pattern."""
    msg = getattr(exc, "msg", None) or str(exc)
    pos = getattr(exc, "pos", None)
    where = f" near index {pos}" if isinstance(pos, int) else ""
    return f"{msg}{where}\n{java_pattern}"
