//go:build whisper

package whisper

// This file holds the function libwhisper's log callback calls: cgo allows
// no C definitions in the preamble of a file that exports to C.

// #include <stdlib.h>
import "C"

//export sbLog
func sbLog(level C.int, text *C.char) {
	logLib(int(level), C.GoString(text))
}
