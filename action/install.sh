#!/usr/bin/env bash
# Install phonefleet for the GitHub Action: the release binary for this runner's OS and architecture,
# its SHA-256 checked against the release's SHA256SUMS; built from source with cargo only when the
# release has no binary for this platform (or the version is not a release).
#
# Environment:
#   PHONEFLEET_VERSION       a release tag (v0.2.0) or `latest` (default)
#   PHONEFLEET_REPOSITORY    owner/name of the repository the releases come from
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

case "$os/$arch" in
  Linux/X64 | Linux/x86_64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64 | Linux/aarch64) target=aarch64-unknown-linux-gnu ;;
  macOS/X64 | Darwin/x86_64) target=x86_64-apple-darwin ;;
  macOS/ARM64 | Darwin/arm64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *) target= ;;
esac

if [ "$version" = latest ] && [ -z "${PHONEFLEET_RELEASE_BASE:-}" ]; then
  # The tag of the latest release, from the redirect GitHub answers /releases/latest with.
  url=$(curl -fsSLI -o /dev/null -w '%{url_effective}' "https://github.com/$repo/releases/latest" || true)
  version=${url##*/}
  case "$version" in v*) ;; *) version= ;; esac
fi

base=${PHONEFLEET_RELEASE_BASE:-https://github.com/$repo/releases/download}
dir=${PHONEFLEET_INSTALL_DIR:-${RUNNER_TOOL_CACHE:-$HOME/.cache}/phonefleet/${version:-source}/bin}
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Copy a release file (URL or directory) into the work directory; fails when it is not there.
fetch() {
  local name=$1
  if [ -d "$base" ]; then
    cp "$base/$version/$name" "$work/$name" 2>/dev/null
  else
    curl -fsSL --retry 3 -o "$work/$name" "$base/$version/$name" 2>/dev/null
  fi
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

exe=phonefleet
[ "$target" = x86_64-pc-windows-msvc ] && exe=phonefleet.exe
archive=phonefleet-$target.tar.gz

if [ -n "$target" ] && [ -n "$version" ] && fetch "$archive" && fetch SHA256SUMS; then
  want=$(awk -v f="$archive" '$2 == f || $2 == "*"f {print $1}' "$work/SHA256SUMS")
  have=$(sha256 "$work/$archive")
  if [ -z "$want" ]; then
    echo "::error::SHA256SUMS of phonefleet $version lists no $archive; not installing it" >&2
    exit 1
  fi
  if [ "$want" != "$have" ]; then
    echo "::error::$archive of phonefleet $version does not match its SHA256SUMS ($have, expected $want); not installing it" >&2
    exit 1
  fi
  tar -xzf "$work/$archive" -C "$work"
  install -m 0755 "$work/$exe" "$dir/$exe"
  echo "installed phonefleet $version ($target, sha256 $have)" >&2
else
  # No release binary for this platform or version: build it (a few minutes).
  echo "no phonefleet release binary for ${target:-$os/$arch} at version ${version:-unknown}; building from source" >&2
  tag=()
  if [ -n "$version" ] && [ "$version" != latest ]; then tag=(--tag "$version"); fi
  cargo install --locked --root "$work/root" --git "https://github.com/$repo" ${tag[@]+"${tag[@]}"} phonefleet >&2
  install -m 0755 "$work/root/bin/$exe" "$dir/$exe"
fi

if [ -n "${GITHUB_PATH:-}" ]; then
  echo "$dir" >> "$GITHUB_PATH"
fi
echo "$dir"
