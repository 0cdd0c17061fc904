;; stdout.wat — writes "hello from the guest" to stdout with WASI fd_write
;; and logs "second" with sluice.log; both must reach Services.Log.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "sluice" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from the guest")
  (data (i32.const 64) "second")
  (func (export "sluice_on_request") (result i32)
    ;; iovec at 0: {ptr 16, len 20}
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 20))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $log (i32.const 64) (i32.const 6))
    (i32.const 0)))
