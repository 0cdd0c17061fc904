;; switchproto.wat — hostile: ends the exchange with a custom 101 Switching
;; Protocols response. The edge must refuse an informational status.
(module
  (import "sluice" "end" (func $end (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; u32 status 101, u32 header count 0, no body
  (data (i32.const 0) "\65\00\00\00\00\00\00\00")
  (func (export "sluice_on_request") (result i32)
    (drop (call $end (i32.const 8) (i32.const 0) (i32.const 8)))
    (i32.const 1)))
