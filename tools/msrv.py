#!/usr/bin/env python3
"""Check that Cargo.toml's `rust-version` is the true minimum Rust for this crate.

No other toolchain can be installed here, so the minimum is proven from what decides it:
  * every locked package built for this platform declares a `rust-version` no newer than ours;
  * the language features the sources use (a table below) need no newer Rust than ours;
  * Cargo.lock's format can be read by our minimum's cargo;
  * and ours is no newer than the newest of those, so it is the minimum, not just a bound.
The standard library APIs the code calls are checked against `rust-version` by clippy's
`incompatible_msrv` lint, which `make check` runs with -D warnings; this script fails if
that lint is allowed anywhere.

Prints one line per check and `msrv: N passed, M failed`; exits 1 on a failure.
"""

import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Language features with the Rust release that stabilised them: (name, regex, version).
FEATURES = [
    ("C string literals c\"...\"", re.compile(r'(?<![A-Za-z0-9_])c"'), (1, 77)),
    ("C string literals cr\"...\"", re.compile(r'(?<![A-Za-z0-9_])cr#*"'), (1, 77)),
    ("&raw const / &raw mut", re.compile(r"&raw\s+(const|mut)\b"), (1, 82)),
    ("unsafe extern blocks", re.compile(r'^\s*(pub\s+)?unsafe\s+extern\s+"[^"]*"\s*\{', re.M), (1, 82)),
    ("unsafe attributes #[unsafe(...)]", re.compile(r"#\[unsafe\("), (1, 82)),
    ("inline const blocks", re.compile(r"(?<![A-Za-z0-9_])const\s*\{"), (1, 79)),
    ("let chains", re.compile(r"\bif\s+let\b[^{;]*&&\s*let\b"), (1, 88)),
    ("let ... else", re.compile(r"\blet\b[^;=]*=[^;]*\belse\s*\{"), (1, 65)),
]
# Cargo.toml keys: (name, regex, version).
MANIFEST_FEATURES = [
    ("[lints] table", re.compile(r"^\[lints(\.|\])", re.M), (1, 74)),
    ("edition 2024", re.compile(r'^edition\s*=\s*"2024"', re.M), (1, 85)),
    ("edition 2021", re.compile(r'^edition\s*=\s*"2021"', re.M), (1, 56)),
]
# Cargo.lock `version = N` and the cargo release that reads it.
LOCK_FORMATS = {3: (1, 53), 4: (1, 78)}


def code_only(text):
    """The text with comments dropped and string literals emptied (prefixes kept), so
    patterns match code, not what code says."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            raw = re.match(r'(?<![A-Za-z0-9_])(b|c)?r(#*)"', text[i:]) if (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) else None
            if raw:
                end = text.find('"' + raw.group(2), i + raw.end())
                out.append(raw.group(0) + '"')
                i = n if end < 0 else end + 1 + len(raw.group(2))
            elif text[i] == '"':
                j = i + 1
                while j < n and text[j] != '"':
                    j += 2 if text[j] == "\\" else 1
                out.append('""')
                i = j + 1
            elif text[i] == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4] + "  "):
                m = re.match(r"'(\\[^']*|[^\\'])'", text[i:])
                out.append("' '")
                i += m.end() if m else 1
            else:
                out.append(text[i])
                i += 1
    return "".join(out)


def parse_version(text):
    parts = [int(p) for p in text.split(".")]
    return tuple((parts + [0])[:2])


def show(version):
    return "%d.%d" % version


def main():
    passed = failed = 0

    def check(ok, line):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + line)
        if ok:
            passed += 1
        else:
            failed += 1

    manifest = (ROOT / "Cargo.toml").read_text()
    declared = re.search(r'^rust-version\s*=\s*"([0-9.]+)"', manifest, re.M)
    if not declared:
        print("FAIL Cargo.toml declares no rust-version")
        print("msrv: 0 passed, 1 failed")
        return 1
    ours = parse_version(declared.group(1))
    needed = []  # (version, why)

    # The locked dependency graph for this platform (build and dev dependencies included).
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked",
             "--filter-platform", "x86_64-unknown-linux-gnu"],
            cwd=ROOT, check=True, capture_output=True, text=True,
        ).stdout
    )
    used = {node["id"] for node in meta["resolve"]["nodes"]}
    for package in sorted(meta["packages"], key=lambda p: p["name"]):
        if package["id"] not in used or package["name"] == "xlchannel":
            continue
        name = "%s %s" % (package["name"], package["version"])
        if package.get("rust_version") is None:
            check(True, "%s declares no rust-version" % name)
            continue
        theirs = parse_version(package["rust_version"])
        needed.append((theirs, name))
        check(theirs <= ours, "%s needs %s" % (name, show(theirs)))

    sources = sorted(ROOT.glob("src/**/*.rs")) + sorted(ROOT.glob("tests/**/*.rs")) + [ROOT / "build.rs"]
    texts = {path: code_only(path.read_text()) for path in sources if path.exists()}
    for feature, pattern, version in FEATURES:
        users = [str(p.relative_to(ROOT)) for p, t in texts.items() if pattern.search(t)]
        if users:
            needed.append((version, feature))
            check(version <= ours, "%s (%s) used in %s" % (feature, show(version), ", ".join(users[:3])))
    for feature, pattern, version in MANIFEST_FEATURES:
        if pattern.search(manifest):
            needed.append((version, feature))
            check(version <= ours, "Cargo.toml uses %s (%s)" % (feature, show(version)))

    lock = re.search(r"^version\s*=\s*(\d+)", (ROOT / "Cargo.lock").read_text(), re.M)
    lock_format = int(lock.group(1)) if lock else 1
    version = LOCK_FORMATS.get(lock_format, (99, 0))
    needed.append((version, "Cargo.lock format %d" % lock_format))
    check(version <= ours, "Cargo.lock format %d (cargo %s)" % (lock_format, show(version)))

    allowed = [str(p.relative_to(ROOT)) for p in texts if "incompatible_msrv" in p.read_text()]
    check(not allowed, "clippy::incompatible_msrv is allowed nowhere" + (": " + ", ".join(allowed) if allowed else ""))

    newest, why = max(needed)
    check(ours == newest, "rust-version %s is the newest requirement (%s: %s)" % (show(ours), why, show(newest)))

    print("msrv: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
