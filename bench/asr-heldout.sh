#!/usr/bin/env bash
# Recognition on voices the speech corpus does not have: how the configured
# backend does on callers it was never tuned on.
#
#   bench/asr-heldout.sh                 # sphinx (the default backend)
#   BACKEND=whisper MODEL=/models/ggml-base.en.bin bench/asr-heldout.sh
#
# It synthesises answers to the demo menu with espeak-ng voices and rates
# that testdata/speech does not use, sends each through the phone path
# (8 kHz mu-law, 300 ms of silence before and 500 ms after), and runs
# `switchboard transcribe` on it with the demo menu's phrases and the global
# intents as hints. An answer counts when the result is not a no-match and
# holds a phrase of the right choice. It does the same with eight other
# ways of asking for a person ("speak to a human", "get me an agent"...),
# counted apart. For reference it also runs stock
# pocketsphinx_continuous on the same text synthesised at 16 kHz (no phone
# path) with a grammar of exactly the spoken phrases: what the acoustic
# model does at best on these voices.
#
# It prints the figures; it is not a test (exit status 0 whatever they are).
# VERBOSE=1 lists every miss; HINTS="a|b|c" replaces the hints (with only
# the spoken phrases it compares like for like with the reference). Needs
# espeak-ng, sox, Go (builds bin/switchboard with `make build` when missing)
# and, for the reference, the pocketsphinx package. sox runs without dither
# (-D), so the audio, and the figures, are the same on every run.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$PATH:/usr/local/go/bin"
BIN=${SWITCHBOARD_BIN:-$ROOT/bin/switchboard}
BACKEND=${BACKEND:-sphinx}
MODEL=${MODEL:-}

die() { echo "asr-heldout.sh: $*" >&2; exit 1; }
for c in espeak-ng sox; do command -v $c >/dev/null || die "$c not found (apt-get install espeak-ng sox)"; done
if [ -z "${SWITCHBOARD_BIN:-}" ] && [ ! -x "$BIN" ]; then
	make --no-print-directory build >&2 || die "build failed"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-heldout.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# Voices and rates the corpus (testdata/speech/generate.sh) does not use.
# Set a has guided choices made in asr/sphinx (lead-ins, pronunciations),
# so it is no longer wholly held out; set b (SET=b) is kept apart to check
# those choices on callers none of them was tuned on.
case ${SET:-a} in
a)
	VOICES=(en-gb-scotland en-us+m7 en-029 en-us-nyc+f3 en-gb-x-rp+m4)
	RATES=(140 175)
	;;
b)
	VOICES=(en-gb-x-gbclan en-gb-x-gbcwmd+f4 en-us+m2 en-029+f1 en-gb-scotland+m5 en-us-nyc+f5)
	RATES=(150 185)
	;;
*) die "SET must be a or b" ;;
esac
# The operator intent's words: any of them in what is heard reaches it.
OPERATOR_RE="operator|agent|representative|human|person|customer service"
# What callers say, and the choice it must reach (a regular expression
# over the recognised words).
ANSWERS=(
	"operator|$OPERATOR_RE"
	"agent please|$OPERATOR_RE"
	"can I talk to a human|$OPERATOR_RE"
	"representative|$OPERATOR_RE"
	"billing|billing|pay my bill|invoice"
	"I need billing|billing|pay my bill|invoice"
	"technical support|support|help"
	"support please|support|help"
	"sales|sales|buy"
	"repeat|repeat"
)
# More ways of asking for a person: every one must reach the operator
# intent (counted apart from the answers above).
OPERATOR_ASKS=(
	"speak to a human"
	"get me an agent"
	"give me an operator"
	"talk to a person"
	"a real person please"
	"customer service"
	"I want a representative"
	"human please"
)
# What callers say that is none of the choices: each should come back as a
# no-match (or with no choice's phrase in it), so that the caller hears
# "sorry" rather than being sent somewhere they did not ask for.
OFF_GRAMMAR=(
	"what are your opening hours"
	"I lost my card"
	"hello is anyone there"
	"my package never arrived"
)
# The demo flow's menu phrases plus the global intents' defaults.
HINTS=${HINTS:-"billing|pay my bill|invoice|technical support|support|help|it's not working|sales|buy|repeat|operator|agent|representative|human|a real person|a person|customer service|goodbye"}

args=(transcribe --backend "$BACKEND" --hints "$HINTS")
[ -n "$MODEL" ] && args+=(--model "$MODEL")

ok=0 n=0 ref_ok=0 ref_n=0
have_ref=0
command -v pocketsphinx_continuous >/dev/null && have_ref=1
if [ $have_ref = 1 ]; then
	{
		echo "#JSGF V1.0;"
		echo "grammar ref;"
		printf 'public <s> = '
		for a in "${ANSWERS[@]}"; do printf '%s | ' "$(echo "${a%%|*}" | tr 'A-Z' 'a-z')"; done | sed 's/ | $//'
		echo ";"
	} >"$TMP/ref.gram"
fi

# reached WANT: whether the last result (from hear) is not a no-match and
# holds a word of the regular expression WANT; with VERBOSE set, a miss is
# listed (using v, r and text of the caller's loop).
reached() {
	if ! grep -q "no-match" <<<"$line" && grep -qE " ($1) " <<<" $heard "; then
		return 0
	fi
	if [ -n "${VERBOSE:-}" ]; then
		echo "miss: $v ${r}wpm \"$text\" -> \"$heard\"$(grep -q no-match <<<"$line" && echo ' (no-match)')"
	fi
	return 1
}

# hear VOICE RATE TEXT: synthesises TEXT into $TMP/raw.wav, sends it
# through the phone path and transcribes it; sets line (the result line)
# and heard (its text).
hear() {
	espeak-ng -v "$1" -s "$2" -w "$TMP/raw.wav" "$3" 2>/dev/null
	sox -D "$TMP/raw.wav" -r 8000 -c 1 -e u-law "$TMP/ulaw.wav" pad 0.3 0.5
	sox -D "$TMP/ulaw.wav" -e signed -b 16 "$TMP/phone.wav"
	local out
	out=$("$BIN" "${args[@]}" "$TMP/phone.wav" 2>&1) || die "transcribe failed: $out"
	line=${out%%$'\n'*}
	heard=$(sed -n 's/^[^"]*"\([^"]*\)".*/\1/p' <<<"$line")
}

for v in "${VOICES[@]}"; do
	for r in "${RATES[@]}"; do
		for a in "${ANSWERS[@]}"; do
			text=${a%%|*} want=${a#*|}
			hear "$v" "$r" "$text"
			n=$((n + 1))
			reached "$want" && ok=$((ok + 1))
			if [ $have_ref = 1 ]; then
				sox -D "$TMP/raw.wav" -r 16000 "$TMP/wide.wav" pad 0.3 0.5
				hyp=$(pocketsphinx_continuous -infile "$TMP/wide.wav" -jsgf "$TMP/ref.gram" -logfn /dev/null 2>/dev/null | tail -1)
				ref_n=$((ref_n + 1))
				[ "$hyp" = "$(echo "$text" | tr 'A-Z' 'a-z')" ] && ref_ok=$((ref_ok + 1))
			fi
		done
	done
done

ops=0 ops_n=0
for v in "${VOICES[@]}"; do
	for r in "${RATES[@]}"; do
		for text in "${OPERATOR_ASKS[@]}"; do
			hear "$v" "$r" "$text"
			ops_n=$((ops_n + 1))
			reached "$OPERATOR_RE" && ops=$((ops + 1))
		done
	done
done

rej=0 rej_n=0
wants=("${ANSWERS[@]#*|}")
any=$(IFS='|'; echo "${wants[*]}") # a phrase of any choice
for v in "${VOICES[@]}"; do
	for r in "${RATES[@]}"; do
		for text in "${OFF_GRAMMAR[@]}"; do
			hear "$v" "$r" "$text"
			rej_n=$((rej_n + 1))
			if grep -q "no-match" <<<"$line" || ! grep -qE " ($any) " <<<" $heard "; then
				rej=$((rej + 1))
			elif [ -n "${VERBOSE:-}" ]; then
				echo "accepted: $v ${r}wpm \"$text\" -> \"$heard\""
			fi
		done
	done
done

pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
echo "backend=$BACKEND set=${SET:-a} heldout_voices=${#VOICES[@]} answers=$n right=$ok ($(pct $ok $n)) through the phone path, $(tr -cd "|" <<<"$HINTS" | wc -c | awk "{print \$1+1}") hinted phrases"
echo "other requests for a person that reach the operator intent: $ops/$ops_n ($(pct $ops $ops_n))"
echo "off-grammar answers rejected (no-match, or no choice's phrase heard): $rej/$rej_n ($(pct $rej $rej_n))"
if [ $have_ref = 1 ]; then
	echo "reference: stock pocketsphinx, 16 kHz, grammar of exactly the spoken phrases: $ref_ok/$ref_n ($(pct $ref_ok $ref_n))"
fi
