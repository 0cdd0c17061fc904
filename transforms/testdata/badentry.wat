;; badentry.wat — sluice_on_request with the wrong type.
(module
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (param i32) (result i32) (i32.const 0)))
