package probes

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// maxStreamFrame is the largest frame a length field can announce: a STUN
// header and 65535 bytes of attributes (a ChannelData frame, 4 + 65535
// padded, is smaller by one byte).
const maxStreamFrame = stunHeaderSize + 0xFFFF

// maxStrayFrames is how many frames that answer nothing (other
// transactions, ChannelData, indications) a client skips while it waits
// for one answer; past that the server is flooding, not answering.
const maxStrayFrames = 1024

// errStrayFlood is what a wait for one answer ends with when the server
// sends more than maxStrayFrames frames that answer nothing.
var errStrayFlood = fmt.Errorf("more than %d messages that answer no request while waiting for the answer: the server floods", maxStrayFrames)

// frameReader reads what a STUN or TURN server sends on one connection:
// STUN messages and ChannelData frames (RFC 8656 §12), told apart by
// their first two bits. From a datagram socket each read is one frame.
// From a stream (TCP, TLS) frames are cut by their length fields, and
// bytes read past a frame, or the part of a frame read before a deadline
// expired, stay buffered for the next call: an answer split across reads
// with a pause, several answers in one read, or a timeout in the middle
// of a frame never put the stream out of step. Memory is one buffer of
// maxStreamFrame bytes (or maxFrame for datagrams) per connection.
type frameReader struct {
	r      io.Reader
	stream bool
	buf    []byte
	// start and end delimit the buffered stream bytes not yet returned.
	start, end int
	// broken is set once the stream cannot be framed any more.
	broken error
	// began is when the first buffered byte arrived, reads how many reads
	// brought the buffered bytes; last describes the frame next returned
	// most recently (streams only).
	began time.Time
	reads int
	last  frameArrival
}

// frameArrival is how a frame came off a stream: when its first bytes
// arrived, and in how many reads. A server that stalls mid-message shows
// as an answer whose first bytes came long before its last.
type frameArrival struct {
	began time.Time
	reads int
}

func newFrameReader(r io.Reader, stream bool) *frameReader {
	size := maxFrame
	if stream {
		size = maxStreamFrame
	}
	return &frameReader{r: r, stream: stream, buf: make([]byte, size)}
}

// next returns the next frame: a STUN message, or a ChannelData message
// without its stream padding. It aliases the reader's buffer and is valid
// until the next call. Read errors (timeouts included) come back as they
// are; over a stream, EOF inside a frame is io.ErrUnexpectedEOF, and a
// frame that is neither STUN nor ChannelData ends the stream.
func (f *frameReader) next() ([]byte, error) {
	if !f.stream {
		n, err := f.r.Read(f.buf)
		return f.buf[:n], err
	}
	if f.broken != nil {
		return nil, f.broken
	}
	for {
		size, keep, err := frameSize(f.buf[f.start:f.end])
		if err != nil {
			f.broken = err
			return nil, err
		}
		if size > 0 && f.end-f.start >= size {
			frame := f.buf[f.start : f.start+keep]
			f.start += size
			f.last = frameArrival{began: f.began, reads: f.reads}
			if f.start < f.end {
				f.reads = 1 // the next frame's first bytes came with the last read
			} else {
				f.began, f.reads = time.Time{}, 0
			}
			return frame, nil
		}
		// Keep the partial frame at the front so a whole one fits.
		if f.start > 0 {
			f.end = copy(f.buf, f.buf[f.start:f.end])
			f.start = 0
		}
		n, err := f.r.Read(f.buf[f.end:])
		if n > 0 {
			if f.start == f.end {
				f.began, f.reads = time.Now(), 0
			}
			f.reads++
		}
		f.end += n
		if err != nil {
			if n > 0 {
				continue // use what came with the error first
			}
			if errors.Is(err, io.EOF) && f.end > f.start {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// pending reports the bytes of a frame that began to arrive but is not
// complete, and the size its header announces (0 while the header itself
// is incomplete).
func (f *frameReader) pending() (have, want int) {
	if !f.stream || f.start == f.end {
		return 0, 0
	}
	size, _, _ := frameSize(f.buf[f.start:f.end])
	return f.end - f.start, size
}

// frameSize reads a frame's header from b: its size on the stream and how
// much of it is the frame (ChannelData is padded to 4 bytes over TCP and
// TLS, RFC 8656 §12.5). size is 0 while fewer than 4 bytes are there.
func frameSize(b []byte) (size, keep int, err error) {
	if len(b) < channelHeaderSize {
		return 0, 0, nil
	}
	length := int(binary.BigEndian.Uint16(b[2:4]))
	switch b[0] >> 6 {
	case 0: // STUN
		return stunHeaderSize + length, stunHeaderSize + length, nil
	case 1: // ChannelData
		keep = channelHeaderSize + length
		return (keep + 3) &^ 3, keep, nil
	}
	return 0, 0, framingError{first: b[0]}
}

// framingError is a stream that can no longer be cut into frames.
type framingError struct{ first byte }

func (e framingError) Error() string {
	return fmt.Sprintf("frame starts with byte %#02x: neither STUN nor ChannelData", e.first)
}

func isFrameError(err error) bool { return errors.As(err, new(framingError)) }
