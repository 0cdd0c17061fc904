;; nop.wat — continues without touching anything (baseline for benchmarks).
(module
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (result i32) (i32.const 0))
  (func (export "sluice_on_response") (result i32) (i32.const 0)))
