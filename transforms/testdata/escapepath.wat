;; escapepath.wat — hostile: sets the request path to one that climbs out of
;; the destination's base path. The edge must refuse it, not forward it.
(module
  (import "sluice" "write" (func $write (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "/../admin")
  (func (export "sluice_on_request") (result i32)
    (drop (call $write (i32.const 4) (i32.const 0) (i32.const 9)))
    (i32.const 0)))
