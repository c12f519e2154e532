package probes

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/webrtc/v4"
)

// StatsLog writes the peers' full statistics as JSON lines, one object
// per peer and sample, for `--stats FILE`. It is safe for concurrent use
// by several probes.
type StatsLog struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

// NewStatsLog writes to w.
func NewStatsLog(w io.Writer) *StatsLog { return &StatsLog{enc: json.NewEncoder(w)} }

// StatsRecord is one line of the log.
type StatsRecord struct {
	At    time.Time `json:"at"`
	Check string    `json:"check"`
	Peer  string    `json:"peer"`
	// Report is the peer's GetStats() (W3C webrtc-stats objects by id).
	Report webrtc.StatsReport `json:"report"`
	// RTP holds the per-SSRC RTP/RTCP statistics (sender side, RTCP RTT
	// and loss included) that GetStats does not expose.
	RTP map[uint32]*stats.Stats `json:"rtp,omitempty"`
}

// Write appends one record; the first write error is kept for Err.
func (l *StatsLog) Write(r StatsRecord) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = l.enc.Encode(r)
	}
}

// Err is the first write error, if any.
func (l *StatsLog) Err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// snapshot logs both peers' stats now, with the RTP stats of ssrcs.
func (p *Pair) snapshot(log *StatsLog, check string, ssrcs ...uint32) {
	if log == nil {
		return
	}
	now := time.Now()
	for i, pc := range []*webrtc.PeerConnection{p.Offer, p.Answer} {
		rec := StatsRecord{At: now, Check: check, Peer: sideName(i), Report: pc.GetStats()}
		for _, ssrc := range ssrcs {
			if s := p.rtp[i].Get(ssrc); s != nil {
				if rec.RTP == nil {
					rec.RTP = map[uint32]*stats.Stats{}
				}
				rec.RTP[ssrc] = s
			}
		}
		log.Write(rec)
	}
}
