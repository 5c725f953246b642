"""Every section citation resolves from a fresh clone.

Comments cite protocol facts as ``§N`` / ``protocol §N`` / ``docs/protocol.md §N`` and the
build rules as ``docs/architecture.md §N``. A citation of a section that does not exist is a
reference a newcomer cannot follow, so each one must name a heading of the document it cites.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# "## 3. Requests", "### 3.5 A request …", "### 14.A What …"
_HEADING = re.compile(r"^#{2,6} (\d+(?:\.(?:\d+|[A-Z]))*)\.?\s", re.MULTILINE)
# "§3", "§3.5", "§14.A" (a trailing sentence period is not part of the number)
_CITATION = re.compile(r"§ ?(\d+(?:\.(?:\d+|[A-Z]\b))*)")
# Sections of other standards ("RFC 9110 §10.2.3") are not ours to check.
_FOREIGN = re.compile(r"RFC \d+ $")
# Which document a citation belongs to: the last one named since the clause began.
_DOC_NAME = re.compile(r"(?:docs/)?(architecture|protocol)(?:\.md)?\b")
_CLAUSE_START = re.compile(r"[();]|\n\s*\n")


def _sections(doc: Path) -> set[str]:
    return set(_HEADING.findall(doc.read_text(encoding="utf-8")))


def _citing_files() -> list[Path]:
    files = [
        *sorted((ROOT / "src").rglob("*.py")),
        *sorted((ROOT / "tests").rglob("*.py")),
        *sorted((ROOT / "bench").rglob("*.py")),
        *sorted(DOCS.glob("*.md")),
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "CHANGELOG.md",
        ROOT / "tests" / "data" / "FIXTURES.md",
    ]
    return [f for f in files if f.is_file()]


def _citations(text: str) -> list[tuple[str, str, int]]:
    """(document, section, line) for every section sign in ``text``."""
    found = []
    for match in _CITATION.finditer(text):
        before = text[max(0, match.start() - 300) : match.start()]
        if _FOREIGN.search(before):
            continue
        clause_starts = list(_CLAUSE_START.finditer(before))
        clause = before[clause_starts[-1].end() :] if clause_starts else before
        names = _DOC_NAME.findall(clause)
        document = names[-1] if names else "protocol"
        line = text.count("\n", 0, match.start()) + 1
        found.append((document, match.group(1), line))
    return found


def test_the_cited_documents_have_numbered_sections() -> None:
    protocol = _sections(DOCS / "protocol.md")
    # The numbering the code has always cited: §0-§16 with these subsections.
    assert {str(n) for n in range(17)} <= protocol
    assert {"3.5", "4.2", "11.2", "12.4", "14.3", "14.A"} <= protocol
    assert {"1", "2", "2.1", "3"} <= _sections(DOCS / "architecture.md")


def test_every_section_citation_names_an_existing_heading() -> None:
    sections = {name: _sections(DOCS / f"{name}.md") for name in ("protocol", "architecture")}
    unresolved = []
    count = 0
    for path in _citing_files():
        for document, section, line in _citations(path.read_text(encoding="utf-8")):
            count += 1
            if section not in sections[document]:
                unresolved.append(f"{path.relative_to(ROOT)}:{line}: {document} §{section}")
    assert count > 300  # the scan really reads the citations
    assert not unresolved, "citations of missing sections:\n" + "\n".join(unresolved)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see §3.5.", [("protocol", "3.5")]),
        (
            "(protocol §5, docs/architecture.md §2.1, §3)",
            [("protocol", "5"), ("architecture", "2.1"), ("architecture", "3")],
        ),
        ("(docs/architecture.md §2.3); then §7", [("architecture", "2.3"), ("protocol", "7")]),
        ("UNVERIFIED §14.A", [("protocol", "14.A")]),
        ("a date (RFC 9110 §10.2.3)", []),
    ],
)
def test_citation_parsing(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(d, s) for d, s, _ in _citations(text)] == expected


# Built from pieces so that this file does not match its own check.
_ISSUE_NUMBER = re.compile("issue" + r"s? #?[0-9]", re.IGNORECASE)


def _issue_numbers(text: str) -> list[str]:
    return [m.group(0) for m in _ISSUE_NUMBER.finditer(text)]


def test_no_issue_numbers_in_code_tests_bench_or_docs() -> None:
    """Issue numbers do not resolve from a checkout; ``make lint`` greps for the same pattern."""
    found = []
    for top in ("src", "tests", "bench", "docs"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in {".py", ".md", ".toml", ".json", ".txt", ".yaml", ".yml"}:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _issue_numbers(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "name the feature or the rule instead:\n" + "\n".join(found)


def test_the_issue_number_pattern() -> None:
    issue = "issue"
    assert _issue_numbers(f"the planner ({issue} 6)") == [f"{issue} 6"]
    assert _issue_numbers(f"{issue.title()} #12: x") == [f"{issue.title()} #1"]
    assert _issue_numbers("https://github.com/ccxt/ccxt/issues/27193") == []
    assert _issue_numbers("no issues here, 3 of them") == []
