// Package dsp holds the signal processing shared by the audio packages: a
// band-limited resampler and the measurements tests use to check audio as
// audio (energy, duration of sound, dominant frequency).
package dsp
