;; badhostsig.wat — imports sluice.read with the wrong signature.
(module
  (import "sluice" "read" (func $read (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (result i32) (i32.const 0)))
