#!/usr/bin/env bash
# Post or update the one sticky plan comment of a pull request, and label the pull request:
# phonefleet:no-changes, phonefleet:changes, or phonefleet:stops when the plan stops phones (the other
# two removed). Uses the gh CLI GitHub's runners have.
#
# The sticky comment is the one that starts with phonefleet's marker AND was written by the account
# this token acts as: anyone can write a comment that starts with the marker, and editing theirs would
# let them frame what reviewers read. The account is `gh api user`'s login for a personal token, and
# github-actions[bot] for the workflow's own token (which cannot read /user); COMMENT_AUTHOR overrides.
#
# Environment: GH_TOKEN, GITHUB_REPOSITORY, PR (the pull request number), COMMENT_FILE, CHANGES
# (true/false), STOPS (a number), LABEL (true/false), COMMENT_AUTHOR (optional).
set -euo pipefail

marker='<!-- phonefleet-plan -->'
body_file=$COMMENT_FILE
if ! head -1 "$body_file" | grep -qF "$marker"; then
  # phonefleet writes the marker first; a plan that failed before writing keeps the comment findable.
  { echo "$marker"; cat "$body_file"; } > "$body_file.tmp" && mv "$body_file.tmp" "$body_file"
fi
me=${COMMENT_AUTHOR:-}
if [ -z "$me" ]; then
  me=$(gh api user --jq .login 2>/dev/null) || me=
fi
[ -n "$me" ] || me='github-actions[bot]'
comments=$(mktemp)
trap 'rm -f "$comments"' EXIT
gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR/comments" > "$comments"
# --paginate writes one JSON array a page; the first comment of ours with the marker, if any.
id=$(ME=$me MARKER=$marker python3 -c '
import json, os, sys
text, me, marker = sys.stdin.read(), os.environ["ME"], os.environ["MARKER"]
decoder, pos, found = json.JSONDecoder(), 0, ""
while not found:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos >= len(text):
        break
    page, pos = decoder.raw_decode(text, pos)
    for c in page:
        if (c.get("user") or {}).get("login") == me and (c.get("body") or "").startswith(marker):
            found = str(c["id"])
            break
print(found)
' < "$comments")
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$body_file" >/dev/null
else
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR/comments" -F "body=@$body_file" >/dev/null
fi

if [ "${LABEL:-true}" = true ]; then
  if [ "${STOPS:-0}" -gt 0 ]; then
    want=phonefleet:stops
  elif [ "${CHANGES:-false}" = true ]; then
    want=phonefleet:changes
  else
    want=phonefleet:no-changes
  fi
  for label in phonefleet:no-changes phonefleet:changes phonefleet:stops; do
    if [ "$label" != "$want" ]; then
      gh api --method DELETE "repos/$GITHUB_REPOSITORY/issues/$PR/labels/$label" >/dev/null 2>&1 || true
    fi
  done
  gh api --method POST "repos/$GITHUB_REPOSITORY/issues/$PR/labels" -f "labels[]=$want" >/dev/null
fi
