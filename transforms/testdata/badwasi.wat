;; badwasi.wat — imports a WASI function outside the allow-list.
(module
  (import "wasi_snapshot_preview1" "sock_recv" (func $r (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (result i32) (i32.const 0)))
