#!/usr/bin/env bash
# Builds tools/qemu_plugin/insn_profile.c into a QEMU TCG plugin for the installed qemu-system-arm.
# Debian ships the plugin API header (qemu-plugin.h) in no binary package, so it is taken from
# Debian's own qemu source package of the installed version (apt-get source, a private deb-src
# list: the system's apt configuration is not touched). Only that one header is extracted and
# kept; no QEMU code is compiled into the plugin. Idempotent and cached: a second run with the
# same plugin source and QEMU version does nothing (about 10 ms).
#   usage: setup.sh [CACHE_DIR]     prints the plugin's path on success
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src="$here/insn_profile.c"
cache=${1:-${PIPELINE_CACHE_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/pipeline}/qemu-plugin}
mkdir -p "$cache"

die() { echo "error: qemu plugin setup: $*" >&2; exit 2; }
command -v gcc >/dev/null || die "gcc not found; install it with: apt-get install -y gcc"
command -v dpkg-query >/dev/null || die "dpkg-query not found: the plugin header comes from Debian's qemu source package"
# The source package and version of the installed emulator, e.g. "qemu 1:7.2+dfsg-7+deb12u18"
# (the binary version carries a +b3 rebuild suffix the source package does not).
read -r pkg ver < <(dpkg-query -W -f='${source:Package} ${source:Version}\n' qemu-system-arm 2>/dev/null) \
  || die "qemu-system-arm is not installed (make apt installs it)"
header="$cache/qemu-plugin-$ver.h"

if [ ! -s "$header" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  mirror=http://deb.debian.org/debian
  printf 'deb-src %s %s main\ndeb-src %s %s-updates main\ndeb-src http://deb.debian.org/debian-security %s-security main\n' \
    "$mirror" "$codename" "$mirror" "$codename" "$codename" > "$work/sources.list"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  apt_opts=(-q -oDir::Etc::SourceList="$work/sources.list" -oDir::Etc::SourceParts=/dev/null
            -oDir::State::Lists="$work/lists" -oDir::Cache="$work/cache" -oAPT::Sandbox::User="$(id -un)")
  echo "fetching Debian's $pkg $ver source package for the plugin API header" >&2
  apt-get "${apt_opts[@]}" update >/dev/null || die "apt-get update of the deb-src list failed (is deb.debian.org reachable?)"
  (cd "$work" && apt-get "${apt_opts[@]}" source --download-only "$pkg=$ver" >/dev/null) \
    || die "apt-get source $pkg=$ver failed"
  orig=$(ls "$work"/*.orig.tar.* 2>/dev/null | head -n1)
  [ -n "$orig" ] || die "no .orig tarball in the $pkg source package"
  tar -xf "$orig" -C "$work" --wildcards '*/include/qemu/qemu-plugin.h' \
    || die "$orig has no include/qemu/qemu-plugin.h"
  found=$(find "$work" -path '*/include/qemu/qemu-plugin.h' | head -n1)
  cp "$found" "$header.tmp" && mv "$header.tmp" "$header"
fi

# The plugin is named by what it is built from, so a changed source or QEMU never runs stale.
key=$( (sha256sum "$src" "$header"; gcc --version | head -n1) | sha256sum | cut -c1-16)
so="$cache/insn_profile-$key.so"
if [ ! -s "$so" ]; then
  inc=$(mktemp -d)
  cp "$header" "$inc/qemu-plugin.h"
  gcc -O2 -Wall -Werror -shared -fPIC -I"$inc" "$src" -o "$so.tmp" || { rm -rf "$inc"; die "compiling $src failed"; }
  rm -rf "$inc"
  mv "$so.tmp" "$so"
fi
ln -sfn "$(basename "$so")" "$cache/insn_profile.so.tmp" && mv -T "$cache/insn_profile.so.tmp" "$cache/insn_profile.so"
echo "$so"
