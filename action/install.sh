#!/usr/bin/env bash
# Install phonefleet for the GitHub Action: the release binary for this runner's OS and architecture,
# its SHA-256 checked against the release's SHA256SUMS and, where the gh CLI is present, its build
# provenance checked with `gh attestation verify` (the checksum file comes from the same release as the
# archive: it proves integrity, the attestation proves which repository's workflow built it). Fails
# closed: a download, checksum or provenance failure is an error. Built from source only when asked
# (PHONEFLEET_BUILD_FROM_SOURCE=true) and only of a pinned release tag.
#
# Environment:
#   PHONEFLEET_VERSION       a release tag (v0.1.0) or `latest` (default)
#   PHONEFLEET_REPOSITORY    owner/name of the repository the releases come from
#   PHONEFLEET_BUILD_FROM_SOURCE  `true`: build with cargo instead of downloading (needs a vX.Y.Z tag)
#   PHONEFLEET_RELEASE_BASE  where release files are (default https://github.com/$REPO/releases/download);
#                            a directory works too (the tests use a fake release)
#   PHONEFLEET_INSTALL_DIR   where the binary goes (default $RUNNER_TOOL_CACHE/phonefleet/$VERSION/bin)
#   RUNNER_OS, RUNNER_ARCH   set by GitHub (Linux/macOS/Windows, X64/ARM64); uname is asked otherwise
# Writes the bin directory to $GITHUB_PATH when set, and prints it.
set -euo pipefail

version=${PHONEFLEET_VERSION:-latest}
repo=${PHONEFLEET_REPOSITORY:?PHONEFLEET_REPOSITORY is not set}
os=${RUNNER_OS:-$(uname -s)}
arch=${RUNNER_ARCH:-$(uname -m)}
from_source=${PHONEFLEET_BUILD_FROM_SOURCE:-false}

fail() {
  echo "::error::$*" >&2
  exit 1
}

case "$os/$arch" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-gnu ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *) target= ;;
esac
exe=phonefleet
[ "$target" = x86_64-pc-windows-msvc ] && exe=phonefleet.exe

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$from_source" = true ]; then
  # A source build runs the repository's build scripts in a job that may hold credentials: only of a
  # release tag the workflow pinned, never of a branch or of `latest`.
  [[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] \
    || fail "build-from-source needs a pinned release tag (version: v1.2.3), not '$version'"
  dir=${PHONEFLEET_INSTALL_DIR:-${RUNNER_TOOL_CACHE:-$HOME/.cache}/phonefleet/$version/bin}
  mkdir -p "$dir"
  echo "building phonefleet $version from source (tag $version of $repo)" >&2
  cargo install --locked --root "$work/root" --git "https://github.com/$repo" --tag "$version" phonefleet >&2
  install -m 0755 "$work/root/bin/$exe" "$dir/$exe"
else
  [ -n "$target" ] \
    || fail "no phonefleet release binary is built for $os/$arch; set build-from-source: true with a pinned version to build it"
  if [ "$version" = latest ] && [ -z "${PHONEFLEET_RELEASE_BASE:-}" ]; then
    # The tag of the latest release, from the redirect GitHub answers /releases/latest with.
    url=$(curl -fsSLI -o /dev/null -w '%{url_effective}' "https://github.com/$repo/releases/latest") \
      || fail "cannot find the latest phonefleet release of $repo; set version: to a release tag"
    version=${url##*/}
    [[ "$version" =~ ^v[0-9] ]] || fail "cannot find the latest phonefleet release of $repo (got '$version')"
  fi
  base=${PHONEFLEET_RELEASE_BASE:-https://github.com/$repo/releases/download}
  dir=${PHONEFLEET_INSTALL_DIR:-${RUNNER_TOOL_CACHE:-$HOME/.cache}/phonefleet/$version/bin}
  mkdir -p "$dir"
  archive=phonefleet-$target.tar.gz

  # Copy a release file (URL or directory) into the work directory, or fail naming it.
  fetch() {
    local name=$1
    if [ -d "$base" ]; then
      cp "$base/$version/$name" "$work/$name" 2>/dev/null
    else
      curl -fsSL --retry 3 -o "$work/$name" "$base/$version/$name" 2>/dev/null
    fi || fail "cannot download $name of phonefleet $version from $base; nothing was installed"
  }
  sha256() {
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
  }

  fetch "$archive"
  fetch SHA256SUMS
  want=$(awk -v f="$archive" '$2 == f || $2 == "*"f {print $1}' "$work/SHA256SUMS")
  have=$(sha256 "$work/$archive")
  [ -n "$want" ] || fail "SHA256SUMS of phonefleet $version lists no $archive; not installing it"
  [ "$want" = "$have" ] \
    || fail "$archive of phonefleet $version does not match its SHA256SUMS ($have, expected $want); not installing it"
  if command -v gh >/dev/null 2>&1; then
    gh attestation verify "$work/$archive" --repo "$repo" >&2 \
      || fail "$archive of phonefleet $version has no valid build provenance from $repo (gh attestation verify); not installing it"
    provenance="provenance verified"
  else
    echo "::warning::cannot verify the build provenance of phonefleet $version: the gh CLI is not installed; only its SHA-256 was checked" >&2
    provenance="provenance not checked: no gh"
  fi
  tar -xzf "$work/$archive" -C "$work"
  install -m 0755 "$work/$exe" "$dir/$exe"
  echo "installed phonefleet $version ($target, sha256 $have, $provenance)" >&2
fi

if [ -n "${GITHUB_PATH:-}" ]; then
  echo "$dir" >> "$GITHUB_PATH"
fi
echo "$dir"
