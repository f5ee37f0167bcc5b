"""The fuzz suite: generated bad (and good) input thrown at every public entry point.

Each area draws cases with hypothesis (``tests/ldsnn_fuzz_cases.py``) or from the corpus of
corrupted files (``tests/ldsnn_fuzz_corpus.py``); every case must end in a clear named error
(an :class:`ldsnn_lava.errors.LDSNNError`, or for the command line one line and exit status 2)
or in a valid result that passes its sanity check; never a leaked internal exception, a hang or
silent garbage (see ``tests/ldsnn_fuzz.py``). The runs are deterministic (``derandomize``);
``LDSNN_FUZZ_SCALE=10`` runs ten times as many cases, ``LDSNN_FUZZ_REPORT=path.json`` writes
the outcome counts per area.

Resource limits are lowered for the whole module (``ldsnn_lava.guards.set_limits``), so that a
request that would run for minutes is refused in milliseconds, and every case runs under an
alarm: a case still running after its timeout is a hang.
"""

import json
import os
import tempfile

import ldsnn_fuzz_cases as cases
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from ldsnn_fuzz import Tally, run_case
from ldsnn_fuzz_corpus import write_corpus

from ldsnn_lava.guards import set_limits

SCALE = float(os.environ.get("LDSNN_FUZZ_SCALE", "1"))
AREAS = {  # area: (strategy, examples per run)
    "network": (cases.network_cases(), 220),
    "schedule": (cases.schedule_cases(), 160),
    "schedule-json": (cases.schedule_text_cases(), 100),
    "evaluate": (cases.evaluate_cases(), 200),
    "optimize": (cases.optimize_cases(), 60),
    "outputs": (cases.output_cases(), 40),
    "cli": (cases.cli_cases(), 100),
    "lava": (cases.lava_cases(), 40),
    "convert": (cases.convert_cases(), 60),
    "roundtrip": (cases.roundtrip_cases(), 40),
    "sequence": (cases.sequence_cases(), 80),
}
TALLY = Tally()
FUZZ_LIMITS = {"memory": 256e6, "seconds": 2.0}


@pytest.fixture(scope="module", autouse=True)
def lowered_limits():
    with set_limits(**FUZZ_LIMITS):
        yield


def _check(outcome) -> None:
    TALLY.add(outcome)
    assert outcome.passed, (f"[{outcome.case.area}] {outcome.kind}: {outcome.case.label}\n"
                            f"expected {outcome.case.expect}; {outcome.detail}")


def _area_test(area: str):
    strategy, count = AREAS[area]

    @settings(max_examples=max(1, int(count * SCALE)), deadline=None, derandomize=True,
              database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def test(case):
        _check(run_case(case))

    return test


test_network = _area_test("network")
test_schedule = _area_test("schedule")
test_schedule_json = _area_test("schedule-json")
test_evaluate = _area_test("evaluate")
test_optimize = _area_test("optimize")
test_outputs = _area_test("outputs")
test_cli = _area_test("cli")
test_lava = pytest.mark.lava(_area_test("lava"))
test_convert = _area_test("convert")
test_roundtrip = _area_test("roundtrip")
test_sequence = _area_test("sequence")


@pytest.fixture(scope="module")
def corpus():
    folder = tempfile.mkdtemp(prefix="ldsnn-fuzz-corpus-")
    return cases.corpus_cases(write_corpus(folder))


def test_files(corpus):
    failures = []
    for case in corpus:
        outcome = run_case(case)
        TALLY.add(outcome)
        if not outcome.passed:
            failures.append(f"{outcome.kind}: {case.label}: expected {case.expect}; "
                            f"{outcome.detail}")
    assert not failures, f"{len(failures)} of {len(corpus)} corpus cases failed:\n" + \
        "\n".join(failures[:40])


def test_fuzz_summary():
    """Runs last (file order): at least 1,000 cases, and the counts per area."""
    if set(TALLY.counts) < set(AREAS) | {"files", "files-cli"}:
        pytest.skip("only part of the fuzz suite ran")
    print("\n" + TALLY.table())
    report = os.environ.get("LDSNN_FUZZ_REPORT")
    if report:
        with open(report, "w") as handle:
            json.dump({area: dict(counts) for area, counts in TALLY.counts.items()}, handle,
                      indent=1)
    assert TALLY.total() >= 1000 * min(SCALE, 1.0)
    assert not TALLY.failures
