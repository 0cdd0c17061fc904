;; badstart.wat — a start function that takes a parameter (invalid wasm; the
;; edge turns the start section into an export, so it must check the type).
(module
  (memory (export "memory") 1)
  (func $s (param i32))
  (start $s)
  (func (export "sluice_on_request") (result i32) (i32.const 0)))
