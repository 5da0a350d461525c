# A real browser for the web console and `lrt graph view` tests (tests/browser.rs): Debian's
# chromium from apt, driven by playwright-core (pinned in tests/browser/package.json) from npm.
# Exports LRT_TEST_CHROMIUM (the browser) and LRT_TEST_PLAYWRIGHT (the node_modules folder).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
    "${apt_get[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
browser_dir="$LRT_CI_DIR/browser"
mkdir -p "$browser_dir"
cp tests/browser/package.json "$browser_dir/package.json"
if [ ! -d "$browser_dir/node_modules/playwright-core" ] ||
    ! grep -q "\"version\": \"$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' tests/browser/package.json)\"" \
        "$browser_dir/node_modules/playwright-core/package.json"; then
    (cd "$browser_dir" && npm install --no-audit --no-fund --silent --no-package-lock)
fi
export LRT_TEST_CHROMIUM="$(command -v chromium)"
export LRT_TEST_PLAYWRIGHT="$browser_dir/node_modules"
