//go:build whisper

package whisper

// The Go bindings (github.com/ggerganov/whisper.cpp/bindings/go) wrap
// whisper_full on the context's single built-in state, and their callback
// registry is a map without a lock: neither can serve concurrent calls. The
// state API (whisper_init_state, whisper_full_with_state and the
// *_from_state getters) is called here directly, against the same
// libwhisper the bindings link.

/*
#cgo LDFLAGS: -lwhisper -lggml -lggml-base -lggml-cpu -lm -lstdc++
#cgo linux LDFLAGS: -fopenmp
#cgo darwin LDFLAGS: -lggml-metal -lggml-blas
#cgo darwin LDFLAGS: -framework Accelerate -framework Metal -framework Foundation -framework CoreGraphics
#include <stdlib.h>
#include <whisper.h>

// The abort flag of a decoding state lives in C memory so whisper's threads
// can poll it while Go sets it, without cgo callbacks.
static bool sb_aborted(void *flag) {
	return __atomic_load_n((int *)flag, __ATOMIC_RELAXED) != 0;
}

static bool sb_encoder_begin(struct whisper_context *ctx, struct whisper_state *st, void *flag) {
	return !sb_aborted(flag);
}

static void sb_set_flag(int *flag, int v) {
	__atomic_store_n(flag, v, __ATOMIC_RELAXED);
}

static void sb_set_callbacks(struct whisper_full_params *p, int *flag) {
	p->abort_callback = sb_aborted;
	p->abort_callback_user_data = flag;
	p->encoder_begin_callback = sb_encoder_begin;
	p->encoder_begin_callback_user_data = flag;
}

// No default state: every decode brings its own from the pool.
static struct whisper_context *sb_load(const char *path) {
	struct whisper_context_params cp = whisper_context_default_params();
	return whisper_init_from_file_with_params_no_state(path, cp);
}

extern void sbLog(int level, char *text);

static void sb_log(enum ggml_log_level level, const char *text, void *ud) {
	if (level == GGML_LOG_LEVEL_INFO || level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) {
		sbLog((int)level, (char *)text);
	}
}

static void sb_log_set(void) {
	whisper_log_set(sb_log, NULL);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// libLogger receives libwhisper's log lines; whisper_log_set is global to
// the process, so the Recognizer created last wins.
var (
	libLogger  atomic.Pointer[slog.Logger]
	libLogOnce sync.Once
)

func setLibLogger(l *slog.Logger) {
	libLogger.Store(l)
	libLogOnce.Do(func() { C.sb_log_set() })
}

// logLib forwards one libwhisper log line: its INFO lines (model and state
// sizes) and reports of aborts we asked for at debug level, warnings and
// errors as such.
func logLib(level int, text string) {
	l := libLogger.Load()
	if l == nil {
		return
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	switch {
	case strings.Contains(text, "aborting") || strings.Contains(text, "aborted"):
		// Our own doing: a partial decode giving way to the final one,
		// a caller hanging up or Close.
		l.Debug("libwhisper: " + text)
	case level == C.GGML_LOG_LEVEL_ERROR:
		l.Error("libwhisper: " + text)
	case level == C.GGML_LOG_LEVEL_WARN:
		l.Warn("libwhisper: " + text)
	default:
		l.Debug("libwhisper: " + text)
	}
}

// model is a loaded whisper_context: weights and vocabulary, shared
// read-only by every state.
type model struct {
	ctx *C.struct_whisper_context
	eot C.whisper_token
}

func loadModel(path string) (*model, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	ctx := C.sb_load(cpath)
	if ctx == nil {
		return nil, errors.New("libwhisper could not load it (not a ggml whisper model, or a newer format than this libwhisper?)")
	}
	return &model{ctx: ctx, eot: C.whisper_token_eot(ctx)}, nil
}

func (m *model) multilingual() bool { return C.whisper_is_multilingual(m.ctx) != 0 }

func (m *model) free() { C.whisper_free(m.ctx) }

// state is one decoding state: whisper's KV caches and compute buffers, and
// the abort flag its decodes poll.
type state struct {
	st    *C.struct_whisper_state
	abort *C.int
}

func (m *model) newState() (*state, error) {
	st := C.whisper_init_state(m.ctx)
	if st == nil {
		return nil, errors.New("whisper_init_state failed (out of memory?)")
	}
	return &state{st: st, abort: (*C.int)(C.calloc(1, C.size_t(unsafe.Sizeof(C.int(0)))))}, nil
}

func (s *state) free() {
	C.whisper_free_state(s.st)
	C.free(unsafe.Pointer(s.abort))
}

// setAbort makes the state's running decode (if any) stop at its next
// computation; clearAbort readies the state for the next one.
func (s *state) setAbort()   { C.sb_set_flag(s.abort, 1) }
func (s *state) clearAbort() { C.sb_set_flag(s.abort, 0) }
func (s *state) aborted() bool {
	return bool(C.sb_aborted(unsafe.Pointer(s.abort)))
}

// errAborted is the error of a decode stopped by its abort flag.
var errAborted = errors.New("decode aborted")

// decodeParams are the per-decode settings of whisper_full_params.
type decodeParams struct {
	Threads        int
	Language       string // a whisper code or "auto"
	Prompt         string
	Grammar        [][]grammarElem
	GrammarPenalty float64
	NoSpeech       float64
	AudioCtx       int
	// Fallback lets whisper re-decode at higher temperatures when the
	// greedy result looks wrong: better finals, up to six times slower;
	// partials go without.
	Fallback bool
}

// decode runs whisper_full_with_state over pcm and returns the segments
// and the language whisper used.
func (m *model) decode(s *state, pcm []float32, dp decodeParams) ([]segment, string, error) {
	p := C.whisper_full_default_params(C.WHISPER_SAMPLING_GREEDY)
	p.n_threads = C.int(dp.Threads)
	p.translate = false
	p.no_context = true
	p.print_special = false
	p.print_progress = false
	p.print_realtime = false
	p.print_timestamps = false
	p.token_timestamps = true
	p.audio_ctx = C.int(dp.AudioCtx)
	p.suppress_blank = true
	p.suppress_nst = true // non-speech tokens: "[MUSIC]", "♪" and the like
	p.temperature = 0
	if !dp.Fallback {
		p.temperature_inc = 0
	}
	p.no_speech_thold = C.float(dp.NoSpeech)

	lang := C.CString(dp.Language)
	defer C.free(unsafe.Pointer(lang))
	p.language = lang
	p.detect_language = false
	if dp.Prompt != "" {
		prompt := C.CString(dp.Prompt)
		defer C.free(unsafe.Pointer(prompt))
		p.initial_prompt = prompt
	}
	if len(dp.Grammar) > 0 && dp.GrammarPenalty > 0 {
		rules, free := cGrammar(dp.Grammar)
		defer free()
		p.grammar_rules = rules
		p.n_grammar_rules = C.size_t(len(dp.Grammar))
		p.i_start_rule = grammarRoot
		p.grammar_penalty = C.float(dp.GrammarPenalty)
	}
	C.sb_set_callbacks(&p, s.abort)

	if rc := C.whisper_full_with_state(m.ctx, s.st, p, (*C.float)(unsafe.Pointer(&pcm[0])), C.int(len(pcm))); rc != 0 {
		if s.aborted() {
			return nil, "", errAborted
		}
		return nil, "", fmt.Errorf("whisper_full_with_state failed (%d)", int(rc))
	}

	n := int(C.whisper_full_n_segments_from_state(s.st))
	segs := make([]segment, 0, n)
	for i := range n {
		ci := C.int(i)
		seg := segment{
			Text:     C.GoString(C.whisper_full_get_segment_text_from_state(s.st, ci)),
			NoSpeech: float64(C.whisper_full_get_segment_no_speech_prob_from_state(s.st, ci)),
		}
		nt := int(C.whisper_full_n_tokens_from_state(s.st, ci))
		for j := range nt {
			cj := C.int(j)
			td := C.whisper_full_get_token_data_from_state(s.st, ci, cj)
			if td.id >= m.eot { // end of text, timestamps and other specials
				continue
			}
			seg.Tokens = append(seg.Tokens, token{
				Text: C.GoString(C.whisper_full_get_token_text_from_state(m.ctx, s.st, ci, cj)),
				P:    float64(td.p),
				T0:   int64(td.t0),
				T1:   int64(td.t1),
			})
		}
		segs = append(segs, seg)
	}
	used := dp.Language
	if id := C.whisper_full_lang_id_from_state(s.st); id >= 0 {
		if str := C.whisper_lang_str(id); str != nil {
			used = C.GoString(str)
		}
	}
	return segs, used, nil
}

// cGrammar copies rules into C memory, as whisper_full_params wants them
// (cgo forbids passing C an array of pointers into Go memory).
func cGrammar(rules [][]grammarElem) (**C.whisper_grammar_element, func()) {
	total := 0
	for _, r := range rules {
		total += len(r)
	}
	elemSize := C.size_t(unsafe.Sizeof(C.whisper_grammar_element{}))
	elems := (*C.whisper_grammar_element)(C.calloc(C.size_t(total), elemSize))
	ptrs := (**C.whisper_grammar_element)(C.calloc(C.size_t(len(rules)), C.size_t(unsafe.Sizeof(uintptr(0)))))
	es := unsafe.Slice(elems, total)
	ps := unsafe.Slice(ptrs, len(rules))
	k := 0
	for i, r := range rules {
		ps[i] = &es[k]
		for _, e := range r {
			es[k]._type = C.enum_whisper_gretype(e.Type)
			es[k].value = C.uint32_t(e.Value)
			k++
		}
	}
	return ptrs, func() {
		C.free(unsafe.Pointer(ptrs))
		C.free(unsafe.Pointer(elems))
	}
}
