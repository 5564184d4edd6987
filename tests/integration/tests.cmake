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
foreach(t batch_merge batch_resume batch_badlines batch_slurm report_chromium) # batch: resume, shards, Slurm, report
  add_test(NAME ${t} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.sh $<TARGET_FILE:firstpass>)
  set_tests_properties(${t} PROPERTIES LABELS integration TIMEOUT 90 SKIP_RETURN_CODE 77)
endforeach()
set_tests_properties(batch_slurm PROPERTIES RUN_SERIAL TRUE) # one local Slurm cluster per machine
add_test(NAME fault_signals COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/fault_signals.sh $<TARGET_FILE:firstpass>) # SIGKILL/TERM/INT of run, eval, batch
set_tests_properties(fault_signals PROPERTIES LABELS "integration;slow" TIMEOUT 300 SKIP_RETURN_CODE 77)
foreach(t fault_generator fault_diskfull fault_closed_stdout fault_nosandbox) # fault injection (issue 5)
  add_test(NAME ${t} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/${t}.sh $<TARGET_FILE:firstpass>)
  set_tests_properties(${t} PROPERTIES LABELS integration TIMEOUT 180 SKIP_RETURN_CODE 77)
endforeach()
add_test(NAME load_small COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/integration/load_small.sh $<TARGET_FILE:firstpass>) # 60 candidates, scripts/load
set_tests_properties(load_small PROPERTIES LABELS "integration;slow" TIMEOUT 600 SKIP_RETURN_CODE 77)
