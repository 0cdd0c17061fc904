;; pathopen.wat — hostile: tries WASI path_open on fd 3 (the first preopen,
;; if there were one) and on stdin, and puts both errnos (u32 LE) in the body.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "sluice" "write" (func $write (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "etc/passwd")
  (func (export "sluice_on_request") (result i32)
    (i32.store (i32.const 200)
      (call $open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 10) (i32.const 0)
        (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 100)))
    (i32.store (i32.const 204)
      (call $open (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 10) (i32.const 0)
        (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 100)))
    (drop (call $write (i32.const 2) (i32.const 200) (i32.const 8)))
    (i32.const 0)))
