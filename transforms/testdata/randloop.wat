;; randloop.wat — hostile: asks WASI random_get for 32 MiB, for ever, ignoring
;; the errno. Each host call must count against the call's deadline.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 512)
  (func (export "sluice_on_request") (result i32)
    (loop $l
      (drop (call $random_get (i32.const 0) (i32.const 0x2000000)))
      (br $l))
    (i32.const 0)))
