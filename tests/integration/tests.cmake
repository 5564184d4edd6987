# Integration tests: real sandboxes, real pytest, real HTTP.
add_subdirectory(${CMAKE_CURRENT_SOURCE_DIR}/probes ${CMAKE_CURRENT_BINARY_DIR}/probes) # containment probes + tests
set_tests_properties(unit_test_gen PROPERTIES LABELS "unit;integration" TIMEOUT 120) # test_gen runs a local HTTP server
add_test(NAME policy_check_shipped COMMAND sh -c "for p in default tests strict; do $<TARGET_FILE:firstpass> policy check $p >/dev/null || exit 1; done")
set_tests_properties(policy_check_shipped PROPERTIES LABELS integration TIMEOUT 30)
add_test(NAME policy_check_invalid_exit2 COMMAND sh -c "$<TARGET_FILE:firstpass> policy check ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/policies/invalid_zero_limit.json 2>&1 | grep -q 'invalid_zero_limit.json:5: limits.memory_mb: expected a positive integer'; a=$?; $<TARGET_FILE:firstpass> policy check ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/policies/invalid_zero_limit.json 2>/dev/null; b=$?; [ $a = 0 ] && [ $b = 2 ]")
set_tests_properties(policy_check_invalid_exit2 PROPERTIES LABELS integration TIMEOUT 30)
set_tests_properties(unit_test_sandbox PROPERTIES LABELS "unit;integration" TIMEOUT 120 SKIP_RETURN_CODE 77)
foreach(t run_example run_feedback run_openai_feedback run_usage eval_compare eval_hostile eval_limits) # orchestrator: run/eval end to end
  add_test(NAME ${t} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.sh $<TARGET_FILE:firstpass>)
  set_tests_properties(${t} PROPERTIES LABELS integration TIMEOUT 90 SKIP_RETURN_CODE 77)
endforeach()
