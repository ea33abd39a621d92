package offer

import "strconv"

// Direction is the media direction of a stream as seen by one side
// (RFC 4566 §6, RFC 3264 §5.1). The zero value is SendRecv, the direction
// SDP assumes when no direction attribute is present.
type Direction int

// The four SDP direction attributes.
const (
	SendRecv Direction = iota // a=sendrecv: send and receive
	SendOnly                  // a=sendonly: send only
	RecvOnly                  // a=recvonly: receive only
	Inactive                  // a=inactive: neither
)

// String returns the SDP attribute name of d ("sendrecv", "sendonly",
// "recvonly", "inactive").
func (d Direction) String() string {
	switch d {
	case SendRecv:
		return "sendrecv"
	case SendOnly:
		return "sendonly"
	case RecvOnly:
		return "recvonly"
	case Inactive:
		return "inactive"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Send reports whether d allows sending media.
func (d Direction) Send() bool { return d == SendRecv || d == SendOnly }

// Recv reports whether d allows receiving media.
func (d Direction) Recv() bool { return d == SendRecv || d == RecvOnly }

// Reverse returns the direction the other side has when one side has d:
// the answer to a sendonly offer is recvonly and vice versa, sendrecv and
// inactive stay as they are (RFC 3264 §6.1).
func (d Direction) Reverse() Direction {
	switch d {
	case SendOnly:
		return RecvOnly
	case RecvOnly:
		return SendOnly
	}
	return d
}

// withoutRecv removes receiving from d. It is how the RFC 2543 hold form
// (c=0.0.0.0) is read: the peer gave no address to send to, so it cannot
// receive, whatever its direction attribute says.
func (d Direction) withoutRecv() Direction {
	switch d {
	case SendRecv:
		return SendOnly
	case RecvOnly:
		return Inactive
	}
	return d
}

// parseDirection maps an attribute key to a Direction.
func parseDirection(key string) (Direction, bool) {
	switch key {
	case "sendrecv":
		return SendRecv, true
	case "sendonly":
		return SendOnly, true
	case "recvonly":
		return RecvOnly, true
	case "inactive":
		return Inactive, true
	}
	return 0, false
}
