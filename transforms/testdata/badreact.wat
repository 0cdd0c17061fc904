;; badreact.wat — sluice_on_react with the wrong signature: refused at upload.
(module
  (memory (export "memory") 1)
  (func (export "sluice_on_react") (param i32) (result i32) (i32.const 0)))
