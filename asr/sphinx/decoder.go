//go:build sphinx

package sphinx

/*
#cgo pkg-config: pocketsphinx
#include <stdlib.h>
#include <pocketsphinx.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/cmn.h>

// Exported by libpocketsphinx 0.8+5prealpha but missing from its headers.
int ps_set_allphone_file(ps_decoder_t *ps, const char *name, const char *path);

// sb_new builds a decoder from command-line style arguments (cgo cannot
// call the variadic cmd_ln_init). ps_init keeps its own reference to the
// configuration.
static ps_decoder_t *sb_new(int argc, char **argv) {
	cmd_ln_t *cfg = cmd_ln_parse_r(NULL, ps_args(), argc, argv, FALSE);
	if (cfg == NULL)
		return NULL;
	ps_decoder_t *ps = ps_init(cfg);
	cmd_ln_free_r(cfg);
	return ps;
}

static int sb_cmn_len(ps_decoder_t *ps) {
	feat_t *f = ps_get_feat(ps);
	if (f == NULL || f->cmn_struct == NULL)
		return 0;
	return f->cmn_struct->veclen;
}

static void sb_cmn_set(ps_decoder_t *ps, const float *vec) {
	feat_t *f = ps_get_feat(ps);
	if (f != NULL && f->cmn_struct != NULL)
		cmn_live_set(f->cmn_struct, vec);
}

static void sb_cmn_get(ps_decoder_t *ps, float *vec) {
	feat_t *f = ps_get_feat(ps);
	if (f != NULL && f->cmn_struct != NULL)
		cmn_live_get(f->cmn_struct, vec);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// phoneSearch is the name of each decoder's phone-loop search, the
// unconstrained reference that utterance verification compares the
// grammar's path with.
const phoneSearch = "phones"

// telephoneCMN is the cepstral mean every utterance starts from: that of
// G.711 speech upsampled and band-filled, measured over the speech corpus.
// The model's own (-cmninit in feat.params, c0 = 41) is that of its
// wideband training audio and so far off that short utterances, which end
// before live CMN adapts (800 frames), are misrecognised.
var telephoneCMN = [...]float32{64.02, -14.58, 1.11, -0.57, -0.27, -14.41, -3.01, -11.22, -10.26, 0.39, -6.46, -1.56, -1.85}

// decoderArgs are the decoder's settings besides the model files.
var decoderArgs = []string{
	"-logfn", "/dev/null",
	"-cmn", "live",
	"-allphone_ci", "yes",
	// Spectral noise subtraction keeps its noise estimate from one
	// utterance to the next, so that what a caller was heard to say
	// depended on whom the decoder served before ("billing" became "speak
	// to repeat" after a few calls). Off, a decoder decides the same way
	// every time (TestDecoderHistoryDoesNotMatter).
	"-remove_noise", "no",
}

// maxGrammars bounds the compiled grammars a decoder keeps: a flow has a
// handful of nodes, so this is only a guard against unbounded growth when
// hints vary per call.
const maxGrammars = 32

// decoder is one pocketsphinx decoder with its searches. It is not safe for
// concurrent use: the pool hands it to one utterance at a time.
type decoder struct {
	ps       *C.ps_decoder_t
	cmnInit  []C.float // the cepstral mean every utterance starts from
	hasPhone bool
	grammars map[string]*grammarEntry // by phrase-set key
	variants map[string]bool          // words addVariantProns has seen
	seq      uint64                   // names grammars and orders their use
	current  string                   // active grammar search, "" for none
	inUtt    bool                     // between start and end
	audio    []int16                  // utterance buffer, reused
}

type grammarEntry struct {
	name    string
	lastUse uint64
}

func newDecoder(hmm, dict, phoneLM string) (*decoder, error) {
	args := append([]string{"-hmm", hmm, "-dict", dict}, decoderArgs...)
	cargs := make([]*C.char, len(args))
	for i, a := range args {
		cargs[i] = C.CString(a)
	}
	ps := C.sb_new(C.int(len(cargs)), &cargs[0])
	for _, a := range cargs {
		C.free(unsafe.Pointer(a))
	}
	if ps == nil {
		return nil, fmt.Errorf("sphinx: initialise decoder with model %s and dictionary %s failed", hmm, dict)
	}
	d := &decoder{ps: ps, grammars: make(map[string]*grammarEntry), variants: make(map[string]bool)}
	if n := int(C.sb_cmn_len(ps)); n > 0 {
		d.cmnInit = make([]C.float, n)
		C.sb_cmn_get(ps, &d.cmnInit[0])
		if n == len(telephoneCMN) {
			for i, v := range telephoneCMN {
				d.cmnInit[i] = C.float(v)
			}
		}
	}
	if phoneLM != "" {
		name, path := C.CString(phoneSearch), C.CString(phoneLM)
		rc := C.ps_set_allphone_file(ps, name, path)
		C.free(unsafe.Pointer(name))
		C.free(unsafe.Pointer(path))
		d.hasPhone = rc == 0
	}
	return d, nil
}

func (d *decoder) free() {
	if d.ps != nil {
		C.ps_free(d.ps)
		d.ps = nil
	}
}

// inDict reports whether word is in the decoder's dictionary.
func (d *decoder) inDict(word string) bool {
	_, ok := d.pron(word)
	return ok
}

// pron returns the phones of word (or of an alternate, "word(2)"), and
// whether the dictionary has it.
func (d *decoder) pron(word string) (string, bool) {
	cw := C.CString(word)
	defer C.free(unsafe.Pointer(cw))
	p := C.ps_lookup_word(d.ps, cw)
	if p == nil {
		return "", false
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoString(p), true
}

// addVariantProns gives the words of phrases the alternate pronunciations
// that telephone callers' speech needs (variantProns). It must run before
// a grammar with these words is compiled: the grammar search takes a
// word's alternates from the dictionary then. A decoder does each word
// once. Only the phrases get them, not the grammar's lead-ins: every
// alternate is one more way for other speech to fit.
func (d *decoder) addVariantProns(phrases []string) {
	for _, p := range phrases {
		for _, w := range strings.Fields(p) {
			if !d.variants[w] {
				d.variants[w] = true
				d.addVariantPron(w)
			}
		}
	}
}

// addVariantPron adds word's alternates for addVariantProns.
func (d *decoder) addVariantPron(word string) {
	var prons []string
	for k := 1; ; k++ {
		name := word
		if k > 1 {
			name = word + "(" + strconv.Itoa(k) + ")"
		}
		ph, ok := d.pron(name)
		if !ok {
			break
		}
		prons = append(prons, ph)
	}
	next := len(prons) + 1
	var alts []string
	for _, ph := range prons {
		alts = append(alts, variantProns(ph)...)
	}
	for _, alt := range alts {
		if slices.Contains(prons, alt) {
			continue
		}
		name := C.CString(word + "(" + strconv.Itoa(next) + ")")
		phones := C.CString(alt)
		rc := C.ps_add_word(d.ps, name, phones, 0)
		C.free(unsafe.Pointer(name))
		C.free(unsafe.Pointer(phones))
		if rc >= 0 {
			prons = append(prons, alt)
			next++
		}
	}
}

// useGrammar makes the grammar for key (compiled from jsgf on first use)
// the active search.
func (d *decoder) useGrammar(key, jsgf string) error {
	d.seq++
	e, ok := d.grammars[key]
	if !ok {
		if len(d.grammars) >= maxGrammars {
			d.evictOldest()
		}
		e = &grammarEntry{name: "g" + strconv.FormatUint(d.seq, 10)}
		name, text := C.CString(e.name), C.CString(jsgf)
		rc := C.ps_set_jsgf_string(d.ps, name, text)
		C.free(unsafe.Pointer(name))
		C.free(unsafe.Pointer(text))
		if rc != 0 {
			return errors.New("sphinx: grammar did not compile")
		}
		d.grammars[key] = e
	}
	e.lastUse = d.seq
	if err := d.setSearch(e.name); err != nil {
		return err
	}
	d.current = e.name
	return nil
}

func (d *decoder) evictOldest() {
	var oldKey string
	var old *grammarEntry
	for k, e := range d.grammars {
		if e.name != d.current && (old == nil || e.lastUse < old.lastUse) {
			oldKey, old = k, e
		}
	}
	if old == nil {
		return
	}
	name := C.CString(old.name)
	C.ps_unset_search(d.ps, name)
	C.free(unsafe.Pointer(name))
	delete(d.grammars, oldKey)
}

func (d *decoder) setSearch(name string) error {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	if C.ps_set_search(d.ps, cn) != 0 {
		return fmt.Errorf("sphinx: select search %s failed", name)
	}
	return nil
}

// start begins an utterance on the active search from the same state
// every time (cepstral mean, front end), so that a result does not depend
// on which caller the decoder served before.
func (d *decoder) start() error {
	if len(d.cmnInit) > 0 {
		C.sb_cmn_set(d.ps, &d.cmnInit[0])
	}
	// A new stream resets the frame count (word times start at 0) and
	// the front end's state left by the previous utterance.
	if C.ps_start_stream(d.ps) < 0 {
		return errors.New("sphinx: start stream failed")
	}
	if C.ps_start_utt(d.ps) < 0 {
		return errors.New("sphinx: start utterance failed")
	}
	d.inUtt = true
	return nil
}

func (d *decoder) process(pcm []int16) error {
	if len(pcm) == 0 {
		return nil
	}
	// The samples hold no Go pointers, so cgo lets C read them in place.
	p := (*C.int16)(unsafe.Pointer(&pcm[0]))
	if C.ps_process_raw(d.ps, p, C.size_t(len(pcm)), 0, 0) < 0 {
		return errors.New("sphinx: process audio failed")
	}
	return nil
}

// processAll decodes a whole utterance in one call.
func (d *decoder) processAll(pcm []int16) error {
	if len(pcm) == 0 {
		return nil
	}
	p := (*C.int16)(unsafe.Pointer(&pcm[0]))
	if C.ps_process_raw(d.ps, p, C.size_t(len(pcm)), 0, 1) < 0 {
		return errors.New("sphinx: process audio failed")
	}
	return nil
}

func (d *decoder) end() error {
	d.inUtt = false
	if C.ps_end_utt(d.ps) < 0 {
		return errors.New("sphinx: end utterance failed")
	}
	return nil
}

// hyp returns the current best hypothesis and its path score.
func (d *decoder) hyp() (string, int32, bool) {
	var score C.int32
	h := C.ps_get_hyp(d.ps, &score)
	if h == nil {
		return "", 0, false
	}
	return C.GoString(h), int32(score), true
}

// segment is one word (or phone, or filler) of the best path.
type segment struct {
	word       string
	start, end int // frames, inclusive
	ascr       int32
}

// segments returns the best path of the last utterance.
func (d *decoder) segments(buf []segment) []segment {
	for s := C.ps_seg_iter(d.ps); s != nil; s = C.ps_seg_next(s) {
		var sf, ef C.int
		C.ps_seg_frames(s, &sf, &ef)
		var ascr, lscr, lback C.int32
		C.ps_seg_prob(s, &ascr, &lscr, &lback)
		buf = append(buf, segment{
			word:  C.GoString(C.ps_seg_word(s)),
			start: int(sf), end: int(ef),
			ascr: int32(ascr),
		})
	}
	return buf
}

func (d *decoder) inUtterance() bool { return d.inUtt }

func (d *decoder) frames() int { return int(C.ps_get_n_frames(d.ps)) }

// isFiller reports whether a path word is silence or a noise filler
// rather than a word of the grammar.
func isFiller(w string) bool {
	return w == "<s>" || w == "</s>" || w == "<sil>" || w == "" ||
		strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++") || strings.HasPrefix(w, "(") // (NULL): an empty transition
}

// variantProns returns the alternates of a pronunciation (its phones,
// space-separated) that are worth adding for telephone callers:
//
//   - Without a leading S or Z. Telephone audio stops at 3.4 kHz and an S
//     or Z is mostly above that, so in G.711 "sales" starts at its vowel.
//     Only where three phones follow it, and not where a weak vowel (AH,
//     ER: "support", "service") would then start the word: "support"
//     without its S was close enough to "operator" to take it.
//   - With every IH as IY. Many accents, and espeak-ng's voices, say the
//     short I of "billing" as in "beeling"; the acoustic model then hears
//     IY, and "billing" came out as "repeat" or as nothing.
//
// Measured through the phone path on espeak-ng voices the corpus does not
// have (bench/asr-heldout.sh): the S-less alternates took answers from 69
// to 74 of 100 on set a; the IY alternates from 74 to 91 of 100 on set a
// and from 97 to 112 of 120 on set b, whose voices no earlier choice was
// tuned on, with the same off-grammar rejections (19 of 40, 15 of 48) and
// the same requests for a person reaching the operator (62 of 80, 71 of
// 96, ±1). The IY alternate of only the first IH, or only the last, or
// only before NG, gained less (set a: 88, 81, 79; set b: 109, 104, 103).
func variantProns(pron string) []string {
	f := strings.Fields(pron)
	var alts []string
	if len(f) >= 4 && (f[0] == "S" || f[0] == "Z") && f[1] != "AH" && f[1] != "ER" {
		alts = append(alts, strings.Join(f[1:], " "))
	}
	if slices.Contains(f, "IH") {
		g := slices.Clone(f)
		for i, ph := range g {
			if ph == "IH" {
				g[i] = "IY"
			}
		}
		alts = append(alts, strings.Join(g, " "))
	}
	return alts
}
