;; badimport.wat — hostile: imports a function the edge does not provide.
(module
  (import "env" "foo" (func $foo))
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (result i32) (call $foo) (i32.const 0)))
