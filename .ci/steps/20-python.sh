# Client libraries from PyPI (tests/clients/requirements.txt, pinned) in a virtualenv, for the
# tests that drive lrt with clients nobody here wrote. Exports LRT_TEST_PYTHON.
venv="$LRT_CI_DIR/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/clients/requirements.txt
export LRT_TEST_PYTHON="$venv/bin/python"
