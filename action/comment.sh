#!/usr/bin/env bash
# Post or update the one sticky plan comment of a pull request (the comment starting with phonefleet's
# marker), and label the pull request: phonefleet:no-changes, phonefleet:changes, or phonefleet:stops
# when the plan stops phones (the other two removed). Uses the gh CLI GitHub's runners have.
#
# Environment: GH_TOKEN, GITHUB_REPOSITORY, PR (the pull request number), COMMENT_FILE, CHANGES
# (true/false), STOPS (a number), LABEL (true/false).
set -euo pipefail

marker='<!-- phonefleet-plan -->'
body_file=$COMMENT_FILE
if ! head -1 "$body_file" | grep -qF "$marker"; then
  # phonefleet writes the marker first; a plan that failed before writing keeps the comment findable.
  { echo "$marker"; cat "$body_file"; } > "$body_file.tmp" && mv "$body_file.tmp" "$body_file"
fi
id=$(gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$PR/comments" \
  --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -1)
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
