;; reactloop.wat — hostile reactor: loops forever; the call must time out.
(module
  (memory (export "memory") 1)
  (func (export "sluice_on_react") (result i32)
    (loop $l (br $l))
    (i32.const 0)))
