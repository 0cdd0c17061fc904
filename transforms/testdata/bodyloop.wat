;; bodyloop.wat — hostile: writes a 32 MiB body (all of its memory), for
;; ever, ignoring the result. Each host call must count against the deadline.
(module
  (import "sluice" "write" (func $write (param i32 i32 i32) (result i32)))
  (memory (export "memory") 512)
  (func (export "sluice_on_request") (result i32)
    (loop $l
      (drop (call $write (i32.const 2) (i32.const 0) (i32.const 0x2000000)))
      (br $l))
    (i32.const 0)))
