// Package offer implements SDP offer/answer (RFC 3264) for a G.711 voice
// endpoint: it reads a remote offer or answer, picks PCMU or PCMA plus
// telephone-event at whatever payload type the peer uses, honours ptime and
// direction attributes, and writes our SDP.
package offer
