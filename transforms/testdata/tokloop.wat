;; tokloop.wat — hostile: vaults "x" as a new token of type "token", for ever,
;; ignoring the result. The tokens one call may create are capped, and each
;; host call counts against the deadline.
(module
  (import "sluice" "tokenize" (func $tokenize (param i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "token\"x\"")
  (func (export "sluice_on_request") (result i32)
    (loop $l
      (drop (call $tokenize (i32.const 0) (i32.const 5) (i32.const 5) (i32.const 3) (i32.const 64) (i32.const 64)))
      (br $l))
    (i32.const 0)))
