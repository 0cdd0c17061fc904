;; loop.wat — hostile: loops forever; the call must time out.
(module
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (result i32)
    (loop $l (br $l))
    (i32.const 0)))
