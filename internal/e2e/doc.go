// Package e2e drives a real switchboard process over loopback with real SIP
// peers: SIPp scenarios and the baresip softphone from ../shared/harness.
// The tests check what the caller received as audio (the prompt's waveform,
// level and length, one continuous RTP stream), that keys arrive as keys,
// that every call ends with BYE/200, and that the server is idle again
// afterwards: no call, no RTP port and no extra goroutine left. It has no
// code outside its tests.
package e2e
