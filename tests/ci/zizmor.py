"""zizmor (PyPI: the GitHub Actions security analyser) over the shipped workflows and the action, offline.

Every finding fails the check but one: `unpinned-uses` of the project's own placeholder reference
(`your-org/phonefleet@v1`), which a user replaces with the commit of the release they use. Run by .ci/run
as `python tests/ci/zizmor.py ZIZMOR FILE...`.
"""

import json
import subprocess
import sys

PLACEHOLDER = "your-org/phonefleet@"


def main() -> int:
    zizmor, files = sys.argv[1], sys.argv[2:]
    run = subprocess.run(
        [zizmor, "--offline", "--format", "json", *files],
        capture_output=True,
        text=True,
    )
    try:
        findings = json.loads(run.stdout or "[]")
    except json.JSONDecodeError:
        sys.stderr.write(run.stderr)
        print("zizmor: no JSON answer")
        return 1
    bad = 0
    for f in findings:
        loc = f["locations"][0]
        path = loc["symbolic"]["key"]["Local"]["verbatim_path"]
        row = loc["concrete"]["location"]["start_point"]["row"] + 1
        feature = loc["concrete"].get("feature", "")
        allowed = f["ident"] == "unpinned-uses" and PLACEHOLDER in feature
        print(f"{path}:{row}: {f['ident']}: {f['desc']}{' (the placeholder: allowed)' if allowed else ''}")
        bad += not allowed
    print(f"zizmor: {len(findings)} findings, {bad} not allowed, over {len(files)} files")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
