;; trap.wat — hostile: executes unreachable.
(module
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (result i32) unreachable))
