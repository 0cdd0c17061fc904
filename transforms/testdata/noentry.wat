;; noentry.wat — exports memory but neither entry point.
(module
  (memory (export "memory") 1)
  (func (export "run") (result i32) (i32.const 0)))
