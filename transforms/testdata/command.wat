;; command.wat — a WASI command (exports _start), not a reactor.
(module
  (memory (export "memory") 1)
  (func (export "_start"))
  (func (export "sluice_on_request") (result i32) (i32.const 0)))
