# Sourced by scripts/demo and scripts/test. Works on a stock Debian/Ubuntu machine that has only
# python3: everything is installed into the project's own virtual environment, .venv (never into
# the system interpreter, which PEP 668 protects), and Debian packages are added only when missing.

say() { printf '==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=
apt_install() {  # install Debian packages quietly; one 'apt-get update' per script
  say "installing Debian packages: $*"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

use_venv() {  # make .venv from python3 (>= 3.10) if needed, and put it first on PATH
  local python="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    command -v "$python" >/dev/null || { echo "error: $python not found; install Python >= 3.10" >&2; exit 1; }
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
      || { echo "error: nbtrack needs Python >= 3.10; $python is $("$python" -V)" >&2; exit 1; }
    say "making the project environment .venv with $("$python" -V)"
    if ! "$python" -m venv .venv >/dev/null 2>&1; then  # Debian ships venv's pip separately
      rm -rf .venv
      apt_install python3-venv
      "$python" -m venv .venv
    fi
  fi
  export VIRTUAL_ENV="$PWD/.venv" PATH="$PWD/.venv/bin:$PATH"
  unset PYTHONHOME
}

need_node_if_building() {  # Node.js/npm only when a front end must be (re)built
  if python scripts/frontends.py --stale && ! command -v npm >/dev/null; then
    say "a front end needs building and npm is missing"
    apt_install nodejs npm
  fi
}

pip_install() {  # pip, quiet but for errors
  python -m pip install -q --disable-pip-version-check --no-input "$@"
}
