# Shared by scripts/test and scripts/tour: virtual environments outside the repo.
# shellcheck shell=bash

FEARLESS_CACHE="${FEARLESS_CACHE:-$HOME/.cache/fearless}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

say() { printf '\n==> %s\n' "$*" >&2; }

# venv_for PYTHON TAG EXTRAS -> prints the venv's python. Creates the venv on
# first use, then (re)installs the package from this checkout — a real
# install, not src/ on the path — with the given extras.
venv_for() {
    local python="$1" tag="$2" extras="$3"
    local venv="$FEARLESS_CACHE/venvs/$tag"
    if [ ! -x "$venv/bin/python" ]; then
        say "creating virtual environment $venv ($("$python" -VV | head -n 1))"
        "$python" -m venv "$venv" >&2
        "$venv/bin/python" -m pip install -q --upgrade pip >&2 || true
    fi
    # --prefer-binary: on 3.13t the newest Hypothesis has no wheel and its
    # source build needs a network this machine does not have.
    "$venv/bin/python" -m pip install -q --prefer-binary "$REPO_ROOT[$extras]" >&2
    # Always reinstall fearless itself so the tests see this checkout. pip
    # builds in the checkout's build/, where setuptools only adds files: a
    # module removed or renamed since an earlier build would be installed
    # again from there (a stale fearless/testing.py beside the package
    # fearless/testing/ once broke every test run on this checkout).
    rm -rf "$REPO_ROOT"/build/lib.*
    "$venv/bin/python" -m pip install -q --no-deps --force-reinstall "$REPO_ROOT" >&2
    echo "$venv/bin/python"
}
