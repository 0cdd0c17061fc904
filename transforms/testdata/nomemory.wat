;; nomemory.wat — exports an entry point but no memory.
(module
  (memory 1)
  (func (export "sluice_on_request") (result i32) (i32.const 0)))
