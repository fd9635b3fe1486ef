# Sourced by .ci/run: Debian's Prometheus server and promtool, which test/ops/prometheus.test.ts
# starts against the roles' metrics endpoints (it skips, saying why, where they are absent).
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
  echo "Installing Prometheus from Debian's packages"
  apt-get update -qq
  # The package's own service is not wanted: the test runs its own server on a free port.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
prometheus --version 2>&1 | head -1
