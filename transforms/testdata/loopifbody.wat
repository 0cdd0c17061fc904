;; loopifbody.wat — hostile only sometimes: returns at once when the body is
;; empty and loops for ever when it is not, so quick calls and a runaway one
;; can share an instance.
(module
  (import "sluice" "read" (func $read (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (result i32)
    (if (i32.gt_s (call $read (i32.const 2) (i32.const 0) (i32.const 0)) (i32.const 0))
      (then (loop $l (br $l))))
    (i32.const 0)))
