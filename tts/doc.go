// Package tts turns prompts into audio the call can play: text through
// espeak-ng, WAV and MP3 files through a band-limited resampler, all to
// 8 kHz mono PCM16, with a cache so each prompt is rendered once per
// process.
package tts
