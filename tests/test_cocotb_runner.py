"""The cocotb runner's verdict (issue 12, item 12): a run in which no testcase executed, or every
testcase was skipped, is a failure, not a success."""
from __future__ import annotations

import pytest

from tb.common.runner import check_results, run_cocotb

XML = """<testsuites><testsuite name="all">{cases}</testsuite></testsuites>"""


def results(tmp_path, cases: str):
    path = tmp_path / "results.xml"
    path.write_text(XML.format(cases=cases))
    return path


def test_no_testcase_is_a_failure(tmp_path):
    with pytest.raises(AssertionError, match="no cocotb testcase ran"):
        check_results(results(tmp_path, ""), "here")


def test_all_skipped_is_a_failure(tmp_path):
    with pytest.raises(AssertionError, match="skipped"):
        check_results(results(tmp_path, '<testcase name="a"><skipped/></testcase>'), "here")


def test_failure_and_unreadable_results_are_failures(tmp_path):
    with pytest.raises(AssertionError, match="failed in here: b"):
        check_results(results(tmp_path, '<testcase name="a"/><testcase name="b"><failure/></testcase>'),
                      "here")
    with pytest.raises(AssertionError, match="no cocotb results"):
        check_results(tmp_path / "missing.xml", "here")


def test_one_passing_testcase_passes(tmp_path):
    check_results(results(tmp_path, '<testcase name="a"/><testcase name="b"><skipped/></testcase>'),
                  "here")


@pytest.mark.rtl
def test_a_filter_matching_no_test_fails_the_run(tmp_path):
    with pytest.raises(AssertionError, match="no cocotb testcase ran"):
        run_cocotb("jitnic_match", "tb.match.test_match",
                   dict(N_ENTRIES=1, MAX_ATOMS=1, HDR_BYTES=64), testcase="no_such_test",
                   log_file=tmp_path / "sim.log")
