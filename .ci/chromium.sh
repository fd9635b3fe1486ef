# Sourced by .ci/run: Debian's chromium for the browser test of the codec server
# (test/pii/web-ui.test.ts drives it headless through playwright-core; it skips without it).
if ! command -v chromium >/dev/null; then
  echo "Installing chromium from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export CHROMIUM_PATH="$(command -v chromium)"
