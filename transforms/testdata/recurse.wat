;; recurse.wat — hostile: unbounded recursion (stack exhaustion).
(module
  (memory (export "memory") 1)
  (func $r (param i64) (result i64) (call $r (i64.add (local.get 0) (i64.const 1))))
  (func (export "sluice_on_request") (result i32)
    (drop (call $r (i64.const 0)))
    (i32.const 0)))
