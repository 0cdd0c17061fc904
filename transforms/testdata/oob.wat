;; oob.wat — hostile: passes an out-of-bounds pointer to the host function
;; chosen by the first byte of the request body ('0'..'7'); any other byte
;; makes a valid call.
(module
  (import "sluice" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "sluice" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "sluice" "config" (func $config (param i32 i32 i32 i32) (result i32)))
  (import "sluice" "tokenize" (func $tok (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "sluice" "end" (func $end (param i32 i32 i32) (result i32)))
  (import "sluice" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (result i32)
    (drop (call $read (i32.const 2) (i32.const 0) (i32.const 1)))
    (block $ok (block $b7 (block $b6 (block $b5 (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
      (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b6 $b7 $ok
        (i32.sub (i32.load8_u (i32.const 0)) (i32.const 48))))
      (drop (call $read (i32.const 1) (i32.const 0xFFFFFF00) (i32.const 0x1000))) (br $ok))
      (drop (call $write (i32.const 2) (i32.const 0xFFFFFF00) (i32.const 0x1000))) (br $ok))
      (drop (call $config (i32.const 0xFFFFFF00) (i32.const 10) (i32.const 0) (i32.const 0))) (br $ok))
      (drop (call $tok (i32.const 0) (i32.const 1) (i32.const 0xFFFFFF00) (i32.const 0x1000) (i32.const 0) (i32.const 0))) (br $ok))
      (drop (call $end (i32.const 3) (i32.const 0xFFFFFF00) (i32.const 16))) (br $ok))
      (call $log (i32.const 0xFFFFFF00) (i32.const 0x1000)) (br $ok))
      (drop (call $read (i32.const 2) (i32.const 65530) (i32.const 100))) (br $ok))
      (drop (call $read (i32.const 1) (i32.const 0) (i32.const 0xFFFFFFFF))) (br $ok))
    (i32.const 0)))
