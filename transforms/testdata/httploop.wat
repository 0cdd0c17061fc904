;; httploop.wat — hostile: sends GET configuration["url"] with
;; sluice.http_request again and again until a call fails, then ends with
;; ReactorRuntimeError carrying the edge's reason (read(6, …)). It stops at
;; the per-call cap, at an oversize or refused response, or at the deadline
;; if the destination never answers. Both a reactor and a request transform.
(module
  (import "sluice" "config" (func $config (param i32 i32 i32 i32) (result i32)))
  (import "sluice" "http_request" (func $http (param i32 i32 i32 i32) (result i32)))
  (import "sluice" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "sluice" "end" (func $end (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  ;; request = bytes "GET", bytes url (at 7: length, at 11: bytes), headers block (count 0)
  (data (i32.const 0) "\03\00\00\00GET")
  (data (i32.const 30000) "url")
  (func $run (result i32)
    (local $n i32) (local $code i32)
    (local.set $n (call $config (i32.const 30000) (i32.const 3) (i32.const 11) (i32.const 16384)))
    (if (i32.or (i32.lt_s (local.get $n) (i32.const 0)) (i32.gt_s (local.get $n) (i32.const 16384)))
      (then unreachable))
    (i32.store (i32.const 7) (local.get $n))
    (i32.store (i32.add (i32.const 11) (local.get $n)) (i32.const 0))
    (loop $l
      (local.set $code (call $http (i32.const 0) (i32.add (i32.const 15) (local.get $n))
                                   (i32.const 32768) (i32.const 4096)))
      (br_if $l (i32.ge_s (local.get $code) (i32.const 0))))
    ;; messages = u32 1, bytes reason — at 65536
    (i32.store (i32.const 65536) (i32.const 1))
    (local.set $n (call $read (i32.const 6) (i32.const 65544) (i32.const 60000)))
    (if (i32.gt_u (local.get $n) (i32.const 60000)) (then unreachable))
    (i32.store (i32.const 65540) (local.get $n))
    (drop (call $end (i32.const 7) (i32.const 65536) (i32.add (i32.const 8) (local.get $n))))
    (i32.const 1))
  (export "sluice_on_react" (func $run))
  (export "sluice_on_request" (func $run)))
