#!/usr/bin/env bash
# Run one phonefleet command for the GitHub Action and set its outputs.
#
# Environment: COMMAND (plan, apply, validate, drift), SPEC, PLAN_FILE, COMMENT_FILE, BASE_SPEC (plan:
# the spec at the pull request's base, optional), ARGS (extra arguments, split on spaces).
# Outputs (to $GITHUB_OUTPUT): exitcode, changes (true/false), stops (phones the plan stops), plan-file,
# comment-file. The step fails on exit code 1 (an error); 2 (changes) is a success.
set -uo pipefail

out=${GITHUB_OUTPUT:-/dev/null}
read -r -a extra <<< "${ARGS:-}"
plan_file=${PLAN_FILE:-plan.json}
comment_file=${COMMENT_FILE:-phonefleet-comment.md}
code=0
changes=false
stops=0

case "${COMMAND:-plan}" in
  validate)
    phonefleet validate --format github "$SPEC" ${extra[@]+"${extra[@]}"} || code=$?
    ;;
  plan)
    base=()
    if [ -n "${BASE_SPEC:-}" ] && [ -e "$BASE_SPEC" ]; then base=(--base "$BASE_SPEC"); fi
    phonefleet plan "$SPEC" ${base[@]+"${base[@]}"} --markdown --out "$plan_file" --detailed-exitcode ${extra[@]+"${extra[@]}"} \
      > "$comment_file" || code=$?
    if [ "$code" -eq 2 ]; then changes=true; fi
    if [ -f "$plan_file" ]; then
      stops=$(phonefleet show "$plan_file" --json 2>/dev/null \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["stop"])' 2>/dev/null || echo 0)
    fi
    ;;
  apply)
    phonefleet apply "$plan_file" --detailed-exitcode --json ${extra[@]+"${extra[@]}"} > phonefleet-apply.json || code=$?
    if [ "$code" -eq 2 ]; then changes=true; fi
    ;;
  drift)
    phonefleet plan "$SPEC" --markdown --detailed-exitcode ${extra[@]+"${extra[@]}"} > "$comment_file" || code=$?
    if [ "$code" -eq 2 ]; then changes=true; fi
    ;;
  *)
    echo "::error::unknown command '${COMMAND:-}': use plan, apply, validate or drift" >&2
    code=1
    ;;
esac

{
  echo "exitcode=$code"
  echo "changes=$changes"
  echo "stops=$stops"
  echo "plan-file=$plan_file"
  echo "comment-file=$comment_file"
} >> "$out"
if [ -f "$comment_file" ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  cat "$comment_file" >> "$GITHUB_STEP_SUMMARY"
fi
# 0 and 2 are answers; 1 is an error.
[ "$code" -ne 1 ]
