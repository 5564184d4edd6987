# One line per unit test binary (tests/unit/<name>.c).
fp_unit_test(test_gen)
fp_unit_test(test_candidate)
fp_unit_test(test_sha256)
fp_unit_test(test_junit)
fp_unit_test(test_policy)
fp_unit_test(test_sandbox)
fp_unit_test(test_util)
fp_unit_test(test_loop)
