// Package whisper is the whisper.cpp speech backend (build tag whisper). One
// model is loaded once and shared by every call; decodes run on a bounded
// pool of whisper.cpp decoding states (whisper_init_state /
// whisper_full_with_state), so a busy server queues final decodes instead of
// loading more models or failing, and skips partial decodes it has no room
// for.
//
// Whisper is a transcriber, not a keyword spotter: on silence and noise it
// invents plausible text ("Thank you.", "Thanks for watching!"). The backend
// therefore decodes only audio that carries energy, drops segments whisper
// itself thinks hold no speech, filters known silence hallucinations and
// repetition loops, and reports low-confidence text as a no-match. Those
// filters are plain Go without cgo (this file's siblings without the build
// tag), so they are tested by the ordinary go test ./... .
//
// Building with -tags whisper needs libwhisper and its ggml libraries from
// the whisper.cpp release matching the Go bindings in go.mod (see README.md
// in this directory).
package whisper
