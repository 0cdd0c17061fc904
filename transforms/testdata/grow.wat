;; grow.wat — hostile: grows memory until refused, dirties all of it, traps.
(module
  (memory (export "memory") 1)
  (func (export "sluice_on_request") (result i32)
    (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    (memory.fill (i32.const 0) (i32.const 255) (i32.mul (memory.size) (i32.const 65536)))
    unreachable))
