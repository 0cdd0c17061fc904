;; reactecho.wat — a reactor whose result is its args, verbatim: the edge
;; must refuse a result that is not {"raw"?, "tokenize"?} or is too large.
;; A refused write is returned as the entry point's result, so the test sees
;; the code. As a transform it tries to read args, which only reactors have.
(module
  (import "sluice" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "sluice" "write" (func $write (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (func (export "sluice_on_react") (result i32)
    (local $n i32) (local $code i32)
    ;; a reactor has no message: reading the head is not allowed
    (if (i32.ne (call $read (i32.const 1) (i32.const 0) (i32.const 1024)) (i32.const -2))
      (then unreachable))
    (local.set $n (call $read (i32.const 7) (i32.const 0) (i32.const 131072)))
    (if (i32.gt_u (local.get $n) (i32.const 131072)) (then unreachable))
    (local.set $code (call $write (i32.const 8) (i32.const 0) (local.get $n)))
    (if (i32.lt_s (local.get $code) (i32.const 0)) (then (return (local.get $code))))
    (i32.const 0))
  (func (export "sluice_on_request") (result i32)
    (call $read (i32.const 7) (i32.const 0) (i32.const 1024))))
