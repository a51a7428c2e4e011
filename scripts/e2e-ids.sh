# Names that keep one checkout's test environment apart from another's on the same machine,
# derived from the checkout's path (sourced by provision-test-env.sh and private-engine.sh).
CHECKOUT_ID="$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"
# A port of its own in 20000-29999, unless E2E_REGISTRY_PORT names one.
REGISTRY_PORT="${E2E_REGISTRY_PORT:-$((20000 + 0x${CHECKOUT_ID:0:4} % 10000))}"
