package browser

// CallSummary is what a call found besides counts and words, as data, so
// that rules reading the result need not parse the evidence.
type CallSummary struct {
	// Pair is the calling browser's selected candidate pair; nil when the
	// call selected none.
	Pair *CandidatePair
}

// CandidatePair is a selected candidate pair as the browser's getStats
// gives it: each side's candidate in words ("relay udp 192.0.2.1:5000")
// and its type (host, srflx, prflx, relay).
type CandidatePair struct {
	Local, Remote         string
	LocalType, RemoteType string
}

// Relayed reports whether the browser's side of the pair is a relay
// candidate: the call went through its TURN server.
func (p CandidatePair) Relayed() bool { return p.LocalType == "relay" }

// typed is the pair without the page's own fields.
func (p *candidatePair) typed() *CandidatePair {
	return &CandidatePair{Local: p.Local, Remote: p.Remote, LocalType: p.LocalType, RemoteType: p.RemoteType}
}
