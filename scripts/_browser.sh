# Sourced by scripts/test: make sure Debian's Chromium is at /usr/bin/chromium for the
# dashboard's browser tests (tests/browser/; Playwright drives it, as `playwright install`
# cannot download its own browsers here). Only when it is missing: apt-get update, then
# apt-get install chromium (and fonts-liberation, for the screenshots) without the
# recommended extras (printing, notifications, GL drivers: 164 packages, ~195 MB instead
# of 281). Measured: download + unpack about 20 s on a fast mirror, ~1-2 min on a fresh
# machine. Needs root or sudo without a password; otherwise it says so and goes on, and the
# browser tests fail with the same advice. Set CHROMIUM to use another binary.
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMIUM

_browser_advice() {
    echo "install it as root with: apt-get update && apt-get install -y chromium" \
        "(or point CHROMIUM at a Chromium binary)"
}

_browser_install() {
    [ -x "$CHROMIUM" ] && return 0
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            echo "setup: SKIPPED the browser install: $CHROMIUM is missing and this user is" \
                "not root and has no password-less sudo; the browser tests will fail." \
                "$(_browser_advice)" >&2
            return 0
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "setup: SKIPPED the browser install: no apt-get on this machine; the browser" \
            "tests will fail. Install Chromium and set CHROMIUM=/path/to/it" >&2
        return 0
    fi
    local started=$SECONDS
    echo "setup: installing Debian's chromium for the browser tests (apt-get, first run only)" >&2
    if "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends chromium fonts-liberation >/dev/null; then
        echo "setup: chromium installed in $((SECONDS - started)) s: $("$CHROMIUM" --version 2>/dev/null)" >&2
    else
        echo "setup: the chromium install FAILED (above); the browser tests will fail." \
            "$(_browser_advice)" >&2
    fi
}

_browser_install
