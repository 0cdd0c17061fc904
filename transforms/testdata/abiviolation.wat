;; abiviolation.wat — breaks the ABI in the way chosen by the first body byte:
;; 'a' returns 1 without calling end, 'b' calls end then returns 0,
;; 'c' returns 7; any other byte continues.
(module
  (import "sluice" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "sluice" "end" (func $end (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; an empty messages list: u32 0
  (data (i32.const 16) "\00\00\00\00")
  (func (export "sluice_on_request") (result i32)
    (local $c i32)
    (drop (call $read (i32.const 2) (i32.const 0) (i32.const 1)))
    (local.set $c (i32.load8_u (i32.const 0)))
    (if (i32.eq (local.get $c) (i32.const 97)) (then (return (i32.const 1))))
    (if (i32.eq (local.get $c) (i32.const 98))
      (then (drop (call $end (i32.const 3) (i32.const 16) (i32.const 4))) (return (i32.const 0))))
    (if (i32.eq (local.get $c) (i32.const 99)) (then (return (i32.const 7))))
    (i32.const 0)))
