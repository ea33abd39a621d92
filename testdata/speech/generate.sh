#!/usr/bin/env bash
# Regenerates the synthetic telephone speech corpus in this directory:
# every *.wav fixture, src/noise-white.wav and manifest.yaml.
#
# Tools: bash, espeak-ng, sox/soxi (awk for float arithmetic only).
# All sox calls run with -R (repeatable mode: fixed seed for whitenoise /
# pinknoise and dither), so two runs with the same sox/espeak-ng versions
# produce byte-identical files.  Output format: WAV, 8000 Hz, mono, G.711
# mu-law (8 bit).  See README.md for the level conventions.
set -euo pipefail
export LC_ALL=C

OUT=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

SOX="sox -R -D -V1"              # repeatable, no dither, errors only
FLT="-r 8000 -c 1 -e floating-point -b 32"

LEAD_MS=500                      # leading line silence
TRAIL_MS=800                     # trailing line silence
PAUSE_MS=400                     # mid-sentence pause (kind: pause)
TARGET_RMS=-16                   # speech level, dBFS RMS over the active part
PEAK_CAP=-2                      # ... unless that would push the peak above this
FLOOR_DB=-65                     # line noise floor, dBFS RMS, whole file
SPEEDS=(130 160 190)

# ---------------------------------------------------------------- helpers
calc() { awk "BEGIN { printf \"%.4f\", $* }"; }
stat_of() { # file key -> value from `sox stats` (e.g. "RMS lev dB", "Pk lev dB")
  $SOX "$1" -n stats 2>&1 | awk -v k="$2" 'index($0, k) == 1 { print $NF; exit }'
}
sec() { calc "$1 / 1000"; }
samples() { soxi -s "$1"; }
ms_of() { echo $(( $(samples "$1") / 8 )); }   # 8 samples per ms at 8 kHz
vslug() { echo "$1" | tr -d '+-' | tr 'A-Z' 'a-z'; }
slug() { echo "$1" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '-' | tr -s '-' | sed 's/^-//; s/-$//'; }
snrtag() { [ "$1" = clean ] && echo clean || echo "snr$1"; }

# Telephone-band noise source (band-limited white noise 300-3400 Hz), 20 s.
# Committed as src/noise-white.wav; every noise in the corpus is a slice of it.
mkdir -p "$OUT/src"
$SOX -n -r 8000 -c 1 -e mu-law -b 8 "$OUT/src/noise-white.wav" \
  synth 20.2 whitenoise sinc 300-3400 gain -18 trim 0.1 20
$SOX "$OUT/src/noise-white.wav" $FLT "$TMP/noise-src.wav"
NOISE_N=$(samples "$TMP/noise-src.wav")
NOISE_RMS=$(stat_of "$TMP/noise-src.wav" "RMS lev dB")

# noise_slice LEVEL_DB NSAMPLES SEED OUT : a slice of the noise source at RMS LEVEL_DB
noise_slice() {
  local lvl=$1 n=$2 seed=$3 out=$4
  local off=$(( (seed * 7919 * 8 + 1234) % (NOISE_N - n) ))
  $SOX "$TMP/noise-src.wav" "$out" trim "${off}s" "${n}s" gain "$(calc "$lvl - ($NOISE_RMS)")"
}

# tts VOICE WPM TEXT OUT : espeak-ng -> trimmed (espeak's own silence removed),
# 8 kHz float, telephone band, not yet level-normalised.
tts() {
  local voice=$1 wpm=$2 text=$3 out=$4
  espeak-ng -v "$voice" -s "$wpm" -w "$TMP/tts.wav" "$text"
  $SOX "$TMP/tts.wav" $FLT "$out" \
    silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse sinc 200-3600
}

# norm_gain FILE : gain (dB) that brings FILE to TARGET_RMS, capped by PEAK_CAP
norm_gain() {
  local rms pk
  rms=$(stat_of "$1" "RMS lev dB"); pk=$(stat_of "$1" "Pk lev dB")
  awk -v r="$rms" -v p="$pk" -v t="$TARGET_RMS" -v c="$PEAK_CAP" \
    'BEGIN { g = t - r; if (p + g > c) g = c - p; printf "%.4f", g }'
}

# finish CLEAN SNR SPEECH_RMS_DB SEED OUTNAME : add line floor (+ SNR noise), encode mu-law
finish() {
  local clean=$1 snr=$2 srms=$3 seed=$4 name=$5
  local n; n=$(samples "$clean")
  noise_slice "$FLOOR_DB" "$n" "$seed" "$TMP/floor.wav"
  if [ "$snr" = clean ]; then
    $SOX -m -v 1 "$clean" -v 1 "$TMP/floor.wav" "$TMP/mix.wav"
  else
    noise_slice "$(calc "$srms - $snr")" "$n" "$((seed + 5000))" "$TMP/snrnoise.wav"
    $SOX -m -v 1 "$clean" -v 1 "$TMP/floor.wav" -v 1 "$TMP/snrnoise.wav" "$TMP/mix.wav"
  fi
  $SOX "$TMP/mix.wav" -r 8000 -c 1 -e mu-law -b 8 "$OUT/$name"
}

MANIFEST="$TMP/manifest.yaml"
: > "$MANIFEST"
# entry FILE KIND TEXT EXPECT VOICE WPM SNR SPEECH BACKCHANNEL
entry() {
  printf -- '- file: %s\n  kind: %s\n  text: "%s"\n  expect: "%s"\n  voice: "%s"\n  wpm: %s\n  snr: "%s"\n  speech: %s\n  backchannel: %s\n' \
    "$@" >> "$MANIFEST"
}

SEED=0
# speech_set KIND TEXT EXPECT WPM_IDX BACKCHANNEL "VOICES" "SNRS" [SYNTH_TEXT]
# One synthesis per voice, reused for every SNR condition of that voice.
speech_set() {
  local kind=$1 text=$2 expect=$3 sidx=$4 bc=$5 voices=$6 snrs=$7 stext=${8:-$2}
  local vi=0 voice wpm g dur srms snr name
  for voice in $voices; do
    wpm=${SPEEDS[$(( (sidx + vi) % 3 ))]}
    tts "$voice" "$wpm" "$stext" "$TMP/s.wav"
    g=$(norm_gain "$TMP/s.wav")
    $SOX "$TMP/s.wav" "$TMP/sn.wav" gain "$g"
    srms=$(stat_of "$TMP/sn.wav" "RMS lev dB")
    dur=$(ms_of "$TMP/sn.wav")
    $SOX "$TMP/sn.wav" "$TMP/clean.wav" pad "$(sec $LEAD_MS)" "$(sec $TRAIL_MS)"
    for snr in $snrs; do
      SEED=$((SEED + 1))
      name="$kind-$(slug "$text")-$(vslug "$voice")-$wpm-$(snrtag "$snr").wav"
      finish "$TMP/clean.wav" "$snr" "$srms" "$SEED" "$name"
      entry "$name" "$kind" "$text" "$expect" "$voice" "$wpm" "$snr" \
        "[[$LEAD_MS, $((LEAD_MS + dur))]]" "$bc"
    done
    vi=$((vi + 1))
  done
}

# pause_set TEXT1 TEXT2 EXPECT WPM_IDX "VOICES" "SNRS"
pause_set() {
  local t1=$1 t2=$2 expect=$3 sidx=$4 voices=$5 snrs=$6
  local text="$1 $2" vi=0 voice wpm g d1 d2 srms snr name s2
  for voice in $voices; do
    wpm=${SPEEDS[$(( (sidx + vi) % 3 ))]}
    tts "$voice" "$wpm" "$t1" "$TMP/h1.wav"
    tts "$voice" "$wpm" "$t2" "$TMP/h2.wav"
    $SOX "$TMP/h1.wav" "$TMP/h2.wav" "$TMP/both.wav"     # level over the speech only
    g=$(norm_gain "$TMP/both.wav")
    $SOX "$TMP/both.wav" "$TMP/bothn.wav" gain "$g"
    srms=$(stat_of "$TMP/bothn.wav" "RMS lev dB")
    $SOX "$TMP/h1.wav" "$TMP/h1n.wav" gain "$g"
    $SOX "$TMP/h2.wav" "$TMP/h2n.wav" gain "$g" pad "$(sec $PAUSE_MS)" 0
    d1=$(ms_of "$TMP/h1n.wav"); d2=$(ms_of "$TMP/h2.wav")
    $SOX "$TMP/h1n.wav" "$TMP/h2n.wav" "$TMP/clean.wav" pad "$(sec $LEAD_MS)" "$(sec $TRAIL_MS)"
    s2=$((LEAD_MS + d1 + PAUSE_MS))
    for snr in $snrs; do
      SEED=$((SEED + 1))
      name="pause-$(slug "$text")-$(vslug "$voice")-$wpm-$(snrtag "$snr").wav"
      finish "$TMP/clean.wav" "$snr" "$srms" "$SEED" "$name"
      entry "$name" pause "$text" "$expect" "$voice" "$wpm" "$snr" \
        "[[$LEAD_MS, $((LEAD_MS + d1))], [$s2, $((s2 + d2))]]" false
    done
    vi=$((vi + 1))
  done
}

# sound NAME LEVEL_DB SEGMENTS_FILES... : non-speech distractor made of one or
# more sox-synthesised bursts (float files) separated by gaps given as "gap:MS".
sound() {
  local name=$1 lvl=$2; shift 2
  local parts=() segs="" t=$LEAD_MS p d g srms
  for p in "$@"; do
    case $p in
      gap:*) d=${p#gap:}
             $SOX -n $FLT "$TMP/gap$t.wav" trim 0 "$(sec $d)"; parts+=("$TMP/gap$t.wav"); t=$((t + d)) ;;
      *)     d=$(ms_of "$p"); parts+=("$p")
             segs="$segs${segs:+, }[$t, $((t + d))]"; t=$((t + d)) ;;
    esac
  done
  if [ ${#parts[@]} -gt 1 ]; then $SOX "${parts[@]}" "$TMP/snd.wav"; else $SOX "${parts[0]}" "$TMP/snd.wav"; fi
  local save=$TARGET_RMS; TARGET_RMS=$lvl
  # level measured over the bursts only (gaps excluded)
  local bursts=(); for p in "$@"; do case $p in gap:*) ;; *) bursts+=("$p");; esac; done
  if [ ${#bursts[@]} -gt 1 ]; then $SOX "${bursts[@]}" "$TMP/bursts.wav"; else $SOX "${bursts[0]}" "$TMP/bursts.wav"; fi
  g=$(norm_gain "$TMP/bursts.wav"); TARGET_RMS=$save
  $SOX "$TMP/snd.wav" "$TMP/clean.wav" gain "$g" pad "$(sec $LEAD_MS)" "$(sec $TRAIL_MS)"
  SEED=$((SEED + 1))
  finish "$TMP/clean.wav" clean 0 "$SEED" "$name"
  entry "$name" distractor "" "" "" 0 clean "[$segs]" false
}

rm -f "$OUT"/*.wav

# ---------------------------------------------------------------- intent
V3="en-us en-us+f2 en-gb"
i=0
for t in "operator" "agent" "representative" "human" "a real person" \
         "talk to an operator please" "I want to speak to a human" \
         "connect me to a representative" "agent please"; do
  speech_set intent "$t" operator $i false "$V3" "clean 20 10"; i=$((i + 1))
done

# ---------------------------------------------------------------- menu
i=0
while IFS='|' read -r t e; do
  speech_set menu "$t" "$e" $i false "$V3" "clean 20"; i=$((i + 1))
done <<'LIST'
billing|billing
technical support|technical support
support|support
sales|sales
I want billing|billing
sales please|sales
repeat|repeat
yes|yes
no|no
LIST

# ---------------------------------------------------------------- pause
V2P="en-us+m3 en-us+f2"
pause_set "I want to talk to" "an operator" operator 0 "$V2P" "clean 20"
pause_set "technical" "support please" "technical support" 1 "$V2P" "clean 20"
pause_set "connect me to" "a representative" operator 2 "$V2P" "clean 20"
pause_set "I would like" "billing" billing 0 "$V2P" "clean 20"

# ---------------------------------------------------------------- distractor
# Coughs: shaped pink/brown noise, 10 ms attack, fast decay, telephone band.
$SOX -n $FLT "$TMP/cA.wav" synth 0.20 pinknoise sinc 300-2500 fade q 0.01 0.20 0.17
$SOX -n $FLT "$TMP/cB.wav" synth 0.28 brownnoise sinc 250-2000 fade q 0.008 0.28 0.24
$SOX -n $FLT "$TMP/cC1.wav" synth 0.18 pinknoise sinc 350-3000 fade q 0.01 0.18 0.15
$SOX -n $FLT "$TMP/cC2.wav" synth 0.22 pinknoise sinc 300-2500 fade q 0.01 0.22 0.19 gain -3
sound distractor-cough-a.wav -16 "$TMP/cA.wav"
sound distractor-cough-b.wav -16 "$TMP/cB.wav"
sound distractor-cough-double.wav -16 "$TMP/cC1.wav" gap:150 "$TMP/cC2.wav"
# Breath: soft, slow-envelope band-limited pink noise (inhale), -30 dBFS RMS.
$SOX -n $FLT "$TMP/br.wav" synth 0.7 pinknoise sinc 500-3000 fade h 0.3 0.7 0.3
sound distractor-breath.wav -30 "$TMP/br.wav"
# Laugh-like burst: 5 "ha" pulses (buzz at 210 Hz + aspiration noise, 6 Hz AM).
$SOX -n $FLT "$TMP/lbuzz.wav" synth 0.8 sawtooth 210 sinc 300-3000
$SOX -n $FLT "$TMP/lnoise.wav" synth 0.8 pinknoise sinc 500-3000 gain -6
$SOX -m -v 1 "$TMP/lbuzz.wav" -v 1 "$TMP/lnoise.wav" "$TMP/lmix.wav" \
  synth 0.8 sine amod 6 0 75 fade q 0.01 0.8 0.25
sound distractor-laugh.wav -18 "$TMP/lmix.wav"

# Backchannels (speech, 3 voices). mm-hmm is given as phonemes: espeak-ng
# would otherwise spell it ("em-em-h-m").
i=0
while IFS='|' read -r t s; do
  speech_set distractor "$t" "" $i true "$V3" "clean" "$s"; i=$((i + 1))
done <<'LIST'
uh-huh|uh-huh
mm-hmm|[[@m'h@m]]
hmm|hmm
okay|okay
LIST

# Line echo: IVR prompt at -16 dBFS RMS, attenuated 25 dB, delayed 60 ms.
PROMPT="For billing, press one. For technical support, press two."
tts en-us 150 "$PROMPT" "$TMP/p.wav"
g=$(norm_gain "$TMP/p.wav")
$SOX "$TMP/p.wav" "$TMP/pe.wav" gain "$(calc "$g - 25")"
d=$(ms_of "$TMP/pe.wav")
$SOX "$TMP/pe.wav" "$TMP/clean.wav" pad "$(sec $((LEAD_MS + 60)))" "$(sec $TRAIL_MS)"
SEED=$((SEED + 1))
finish "$TMP/clean.wav" clean 0 "$SEED" distractor-line-echo-enus-150-clean.wav
entry distractor-line-echo-enus-150-clean.wav distractor "$PROMPT" "" en-us 150 clean \
  "[[$((LEAD_MS + 60)), $((LEAD_MS + 60 + d))]]" false

# ---------------------------------------------------------------- offgrammar
V2O="en-us+m3 en-gb"
i=0
for t in "what time do you close" "my internet is broken" \
         "the weather is nice today" "can you hear me"; do
  speech_set offgrammar "$t" "" $i false "$V2O" "clean 20"; i=$((i + 1))
done

# ---------------------------------------------------------------- silence
$SOX -n $FLT "$TMP/z.wav" trim 0 3
SEED=$((SEED + 1)); finish "$TMP/z.wav" clean 0 "$SEED" silence-line-3s.wav
entry silence-line-3s.wav silence "" "" "" 0 clean "[]" false
noise_slice -45 24000 $((SEED + 1)) "$TMP/n45.wav"
SEED=$((SEED + 1)); finish "$TMP/n45.wav" clean 0 "$SEED" silence-noise-45dbfs-3s.wav
entry silence-noise-45dbfs-3s.wav silence "" "" "" 0 clean "[]" false

{
  echo "# Generated by generate.sh - do not edit. One entry per fixture; see README.md."
  cat "$MANIFEST"
} > "$OUT/manifest.yaml"
echo "generated $(ls "$OUT"/*.wav | wc -l) files"
