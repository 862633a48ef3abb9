#!/bin/sh
# Installs the Emplace host agent where contrib/emplace-agent.service expects it:
#   $PREFIX/lib/emplace-agent/        the compiled agent (Node's built-ins only: no node_modules)
#   $PREFIX/bin/emplace-agent         a symlink to its cli.js
#   /etc/systemd/system/emplace-agent.service, /etc/emplace/agent.json (kept if present)
#
# usage: contrib/install-emplace-agent.sh [--prefix DIR] [--destdir DIR] [--dist DIR] [--no-build] [--no-unit]
#   --prefix   where bin/ and lib/ go (default /usr/local; the unit's ExecStart follows it)
#   --destdir  stage everything under DIR (packaging, tests); default: install for real
#   --dist     the compiled tree holding src/agent/cli.js (default: dist, built by `npx tsc -p src/agent/tsconfig.json`)
#   --no-build use --dist as it is
#   --no-unit  leave systemd alone
set -eu

prefix=/usr/local
destdir=
dist=
build=yes
unit=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=$2; shift 2 ;;
    --destdir) destdir=$2; shift 2 ;;
    --dist) dist=$2; shift 2 ;;
    --no-build) build=no; shift ;;
    --no-unit) unit=no; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-emplace-agent: unknown argument $1" >&2; exit 1 ;;
  esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
dist=${dist:-$repo/dist}
if [ "$build" = yes ]; then
  (cd "$repo" && npx tsc -p src/agent/tsconfig.json --outDir "$dist")
fi
if [ ! -f "$dist/src/agent/cli.js" ]; then
  echo "install-emplace-agent: $dist/src/agent/cli.js not found (build first, or drop --no-build)" >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1; then
  echo "install-emplace-agent: warning: node is not on PATH; the agent needs Node.js 20 or later" >&2
fi

lib=$destdir$prefix/lib/emplace-agent
bin=$destdir$prefix/bin
rm -rf "$lib"
mkdir -p "$lib/src" "$bin"
cp -R "$dist/src/agent" "$lib/src/agent"
find "$lib" -name '*.map' -delete
# The version --version prints, and CommonJS for the .js files.
cp "$repo/package.json" "$lib/package.json"
chmod 0755 "$lib/src/agent/cli.js"
ln -sf "$prefix/lib/emplace-agent/src/agent/cli.js" "$bin/emplace-agent"

if [ "$unit" = yes ]; then
  mkdir -p "$destdir/etc/systemd/system" "$destdir/etc/emplace"
  sed "s#/usr/local/bin/emplace-agent#$prefix/bin/emplace-agent#g" "$repo/contrib/emplace-agent.service" \
    >"$destdir/etc/systemd/system/emplace-agent.service"
  chmod 0644 "$destdir/etc/systemd/system/emplace-agent.service"
  if [ ! -e "$destdir/etc/emplace/agent.json" ]; then
    cat >"$destdir/etc/emplace/agent.json" <<'EOF'
{
  "url": "http://placement.example.org:8778",
  "token_file": "/etc/emplace/agent-token",
  "layout": "nested"
}
EOF
    chmod 0640 "$destdir/etc/emplace/agent.json"
  fi
fi

echo "installed $prefix/bin/emplace-agent -> $prefix/lib/emplace-agent/src/agent/cli.js${destdir:+ (under $destdir)}"
if [ "$unit" = yes ] && [ -z "$destdir" ]; then
  echo "next: edit /etc/emplace/agent.json, then: systemctl daemon-reload && systemctl enable --now emplace-agent"
fi
