"""The model repositories the e2e tests read: the trained examples (in the
source tree), the fixture models and the protocol fixture models (written into
the build tree by tests/fixtures/), and each example's samples.json."""
import json
import os

from harness.strata_server import BINARY_DIR, SOURCE_DIR

EXAMPLES = os.path.join(SOURCE_DIR, "examples", "repository", "models")
FIXTURES = os.path.join(BINARY_DIR, "fixture_repository", "models")
PROTOCOL_FIXTURES = os.path.join(BINARY_DIR, "protocol_fixture_repository", "models")

# How far a served prediction may be from the framework's own.
TOLERANCE = 1e-5


def load_samples(model):
    """An example's samples.json: a request and the framework's answers."""
    with open(os.path.join(EXAMPLES, model, "1", "samples.json")) as f:
        return json.load(f)
