#!/usr/bin/env python3
"""Checks the crate layering that docs/architecture.md states.

Reads the "must not depend on" column of the crate table in
docs/architecture.md, then, for each workspace member:
  * its normal [dependencies] (from `cargo metadata --no-deps`; dev-
    dependencies are not checked, tests may pull test tools), and
  * every `src/**/*.rs` file, for paths into a forbidden crate (`tokio::`,
    `use sea_orm`, `extern crate axum`), comments and string literals
    excluded, so a re-export through another crate is caught too.
Exits 1 naming the crate, the forbidden dependency and the file/line.
Backticked repository paths in the document that do not exist are printed
as notes (they do not fail the check). Python 3 standard library only.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
COLUMN = "must not depend on"
NONE_MARKS = {"", "-", "—", "none"}


def fail_setup(message):
    print(f"check_layers: {message}", file=sys.stderr)
    sys.exit(2)


def rust_name(crate):
    return crate.replace("-", "_")


def parse_table(text):
    """Rows of the table whose header has the COLUMN: (line, crate cell, [forbidden])."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        cells = split_row(line)
        if cells and any(c.lower() == COLUMN for c in cells):
            col = [c.lower() for c in cells].index(COLUMN)
            break
    else:
        fail_setup(f"{DOC.relative_to(ROOT)} has no table with a '{COLUMN}' column")
    rows = []
    for j in range(i + 2, len(lines)):  # skip the |---| separator
        cells = split_row(lines[j])
        if cells is None:
            break
        if len(cells) <= col:
            fail_setup(f"{DOC.relative_to(ROOT)}:{j + 1}: row has no '{COLUMN}' cell")
        forbidden = []
        cell = re.sub(r"\([^)]*\)", "", cells[col]).replace("`", "")
        for name in (n.strip() for n in cell.split(",")):
            if name.lower() in NONE_MARKS:
                continue
            if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
                fail_setup(f"{DOC.relative_to(ROOT)}:{j + 1}: '{name}' is not a crate name")
            forbidden.append(name)
        rows.append((j + 1, cells[0], forbidden))
    return rows


def split_row(line):
    line = line.strip()
    if not line.startswith("|"):
        return None
    return [c.strip() for c in line.strip("|").split("|")]


def workspace():
    try:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        fail_setup(f"cargo metadata failed: {getattr(e, 'stderr', '') or e}")
    meta = json.loads(out)
    members = set(meta["workspace_members"])
    return [p for p in meta["packages"] if p["id"] in members]


def package_for(cell, packages):
    """The package a table row names, by package name or by directory."""
    tokens = set(re.findall(r"[A-Za-z0-9_./-]+", cell.replace("`", " ")))
    tokens |= {t.rstrip("/") for t in tokens}
    for p in packages:
        rel = Path(p["manifest_path"]).parent.relative_to(ROOT).as_posix()
        if p["name"] in tokens or rel in tokens:
            return p
    return None


def blank_comments_and_strings(src):
    """The source with comments and string/char literals replaced by spaces
    (newlines kept, so line numbers stay right)."""
    out, i, n = [], 0, len(src)

    def blank(text):
        return "".join(ch if ch == "\n" else " " for ch in text)

    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
        elif c == "r" and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")) \
                and re.match(r'r#*"', src[i:i + 300]):
            hashes = re.match(r"r(#*)\"", src[i:]).group(1)
            end = src.find('"' + hashes, i + 2 + len(hashes))
            j = n if end < 0 else end + 1 + len(hashes)
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
        elif c == "'" and (src.startswith("\\", i + 1) or src.startswith("'", i + 2)):
            j = i + 2 if src[i + 1] == "\\" else i + 1
            j = src.find("'", j + 1)
            j = n if j < 0 else j + 1
        else:
            out.append(c)
            i += 1
            continue
        out.append(blank(src[i:j]))
        i = j
    return "".join(out)


def path_patterns(crate):
    name = re.escape(rust_name(crate))
    return re.compile(
        rf"(?<![\w]){name}\s*::|\b(?:use|extern\s+crate)\s+(?:::)?{name}\b"
    )


def main():
    text = DOC.read_text(encoding="utf-8")
    rows = parse_table(text)
    packages = workspace()
    doc = DOC.relative_to(ROOT)
    problems, pairs, files_read, covered = [], 0, 0, set()

    for line, cell, forbidden in rows:
        pkg = package_for(cell, packages)
        if pkg is None:
            if forbidden:
                problems.append(f"{doc}:{line}: row '{cell}' names no workspace crate")
            continue
        covered.add(pkg["name"])
        crate = pkg["name"]
        crate_dir = Path(pkg["manifest_path"]).parent
        manifest = Path(pkg["manifest_path"]).relative_to(ROOT)
        wanted = {rust_name(f): f for f in forbidden}
        pairs += len(forbidden)

        for dep in pkg["dependencies"]:
            if dep["kind"] is not None:  # "dev" or "build"
                continue
            for used in {dep["name"], dep.get("rename") or dep["name"]}:
                if rust_name(used) in wanted:
                    problems.append(
                        f"{crate} must not depend on {wanted[rust_name(used)]}: "
                        f"{manifest} lists '{dep['name']}' in [dependencies]"
                    )
                    break

        patterns = [(f, path_patterns(f)) for f in forbidden]
        for path in sorted((crate_dir / "src").rglob("*.rs")):
            files_read += 1
            code = blank_comments_and_strings(path.read_text(encoding="utf-8"))
            raw = path.read_text(encoding="utf-8").splitlines()
            for number, code_line in enumerate(code.splitlines(), start=1):
                for f, pattern in patterns:
                    if pattern.search(code_line):
                        problems.append(
                            f"{crate} must not depend on {f}: "
                            f"{path.relative_to(ROOT)}:{number}: {raw[number - 1].strip()}"
                        )

    for p in packages:
        if p["name"] not in covered:
            problems.append(f"{doc}: workspace crate {p['name']} has no row in the table")

    top = {p.name for p in ROOT.iterdir() if p.is_dir()} | {"docs", "scripts"}
    for token in sorted(set(re.findall(r"`([^`\s<>…]+)`", text))):
        if "/" in token and token.split("/")[0] in top and not (ROOT / token).exists():
            print(f"note: {doc} mentions {token}, which is not in the tree")

    if problems:
        print(f"check_layers: {len(problems)} layer violation(s) against {doc}:")
        for p in problems:
            print(f"  {p}")
        return 1
    print(f"check_layers: ok ({len(covered)} crates, {pairs} forbidden dependencies, "
          f"{files_read} source files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
