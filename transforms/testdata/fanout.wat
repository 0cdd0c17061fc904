;; fanout.wat — hostile: no loop, a binary call tree of depth 60 (2^60 calls);
;; wazero's WithCloseOnContextDone (loop headers only) never stopped it.
(module
  (memory (export "memory") 1)
  (func $f (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (call $f (i32.sub (local.get 0) (i32.const 1)))
                     (call $f (i32.sub (local.get 0) (i32.const 1)))))))
  (func (export "sluice_on_request") (result i32)
    (drop (call $f (i32.const 60)))
    (i32.const 0)))
