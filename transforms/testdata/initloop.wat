;; initloop.wat — hostile: _initialize never returns; refused at Compile.
(module
  (memory (export "memory") 1)
  (func (export "_initialize") (loop $l (br $l)))
  (func (export "sluice_on_request") (result i32) (i32.const 0)))
