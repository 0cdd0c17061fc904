//go:build wasip1

package sdk

import "unsafe"

//go:wasmimport sluice read
func sluiceRead(what uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport sluice write
func sluiceWrite(what uint32, ptr unsafe.Pointer, n uint32) int32

//go:wasmimport sluice set_status
func sluiceSetStatus(status int32) int32

//go:wasmimport sluice config
func sluiceConfig(name unsafe.Pointer, nameLen uint32, buf unsafe.Pointer, capacity uint32) int32

//go:wasmimport sluice tokenize
func sluiceTokenize(typ unsafe.Pointer, typLen uint32, data unsafe.Pointer, dataLen uint32, out unsafe.Pointer, outCap uint32) int32

//go:wasmimport sluice end
func sluiceEnd(kind uint32, ptr unsafe.Pointer, n uint32) int32

//go:wasmimport sluice log
func sluiceLog(ptr unsafe.Pointer, n uint32)

//go:wasmimport sluice http_request
func sluiceHTTP(req unsafe.Pointer, reqLen uint32, out unsafe.Pointer, outCap uint32) int32

//go:wasmexport sluice_on_request
func onRequest() int32 { return runRequest() }

//go:wasmexport sluice_on_response
func onResponse() int32 { return runResponse() }

//go:wasmexport sluice_on_react
func onReact() int32 { return runReact() }

func ptr(b []byte) unsafe.Pointer  { return unsafe.Pointer(unsafe.SliceData(b)) }
func sptr(s string) unsafe.Pointer { return unsafe.Pointer(unsafe.StringData(s)) }

func hostRead(what uint32, buf []byte) int32 { return sluiceRead(what, ptr(buf), uint32(len(buf))) }
func hostWrite(what uint32, b []byte) int32  { return sluiceWrite(what, ptr(b), uint32(len(b))) }
func hostSetStatus(status int32) int32       { return sluiceSetStatus(status) }
func hostConfig(name string, buf []byte) int32 {
	return sluiceConfig(sptr(name), uint32(len(name)), ptr(buf), uint32(len(buf)))
}
func hostTokenize(typ string, data, out []byte) int32 {
	return sluiceTokenize(sptr(typ), uint32(len(typ)), ptr(data), uint32(len(data)), ptr(out), uint32(len(out)))
}
func hostEnd(kind uint32, payload []byte) int32 {
	return sluiceEnd(kind, ptr(payload), uint32(len(payload)))
}
func hostLog(msg string) { sluiceLog(sptr(msg), uint32(len(msg))) }
func hostHTTP(req, out []byte) int32 {
	return sluiceHTTP(ptr(req), uint32(len(req)), ptr(out), uint32(len(out)))
}
