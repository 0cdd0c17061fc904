;; bigmem.wat — declares 1000 initial pages (62.5 MiB), over the limit.
(module
  (memory (export "memory") 1000)
  (func (export "sluice_on_request") (result i32) (i32.const 0)))
