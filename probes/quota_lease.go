package probes

import (
	"context"
	"fmt"
	"sync"
)

// QuotaLease is a check's hold on a TURN user's allocation quota, given
// by whoever runs the check (the checks runner): the TURN checks of one
// credential take turns on it, so that rtcprobe's own allocations never
// exhaust the quota and a 486 is the server's, not ours.
//
// The server counts only what an authenticated Allocate created. Until a
// check sends its first authenticated request it holds nothing of the
// quota, and may be waiting on a server that never answers: it lends
// the lease (Lend) so the next check can use the quota meanwhile, and
// takes it back (Reclaim) right before its first authenticated request.
type QuotaLease interface {
	// Lend lets others take the quota until Reclaim.
	Lend()
	// Reclaim waits until the quota is free again and takes it; an error
	// when ctx ends first.
	Reclaim(ctx context.Context) error
}

type quotaLeaseKey struct{}

// leaseState is one check's use of its lease. Once the check has sent an
// authenticated request it may hold allocations: the lease is then kept
// to the end, never lent again.
type leaseState struct {
	l  QuotaLease
	mu sync.Mutex
	// lent: Lend was called and no Reclaim has succeeded since.
	lent bool
	// held: the lease is kept for good. taking is closed when a Reclaim
	// under way ends (nil: none is).
	held   bool
	taking chan struct{}
}

// WithQuotaLease gives the probes run under ctx the lease l.
func WithQuotaLease(ctx context.Context, l QuotaLease) context.Context {
	return context.WithValue(ctx, quotaLeaseKey{}, &leaseState{l: l})
}

func leaseOf(ctx context.Context) *leaseState {
	s, _ := ctx.Value(quotaLeaseKey{}).(*leaseState)
	return s
}

// LendQuota lends the check's lease while it has sent nothing
// authenticated: before the dial and the unauthenticated first Allocate,
// which a silent server never answers. Without a lease it does nothing.
func LendQuota(ctx context.Context) {
	s := leaseOf(ctx)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.held && s.taking == nil && !s.lent {
		s.lent = true
		s.l.Lend()
	}
}

// HoldQuota is called before every authenticated request: the first one
// takes the lease back (waiting while another check holds the quota) and
// keeps it; concurrent ones wait for that.
func HoldQuota(ctx context.Context) error {
	s := leaseOf(ctx)
	if s == nil {
		return nil
	}
	for {
		s.mu.Lock()
		if s.held {
			s.mu.Unlock()
			return nil
		}
		if taking := s.taking; taking != nil {
			s.mu.Unlock()
			select {
			case <-taking:
				continue
			case <-ctx.Done():
				return quotaWaitError(ctx.Err())
			}
		}
		taking := make(chan struct{})
		s.taking = taking
		lent := s.lent
		s.mu.Unlock()
		var err error
		if lent {
			err = s.l.Reclaim(ctx)
		}
		s.mu.Lock()
		// On an error nothing is held: the next authenticated request
		// asks again.
		s.held, s.taking = err == nil, nil
		s.lent = s.lent && err != nil
		s.mu.Unlock()
		close(taking)
		if err != nil {
			return quotaWaitError(err)
		}
		return nil
	}
}

// quotaWaitError: the check ended while another check of the same
// credential held the quota.
func quotaWaitError(err error) error {
	return fmt.Errorf("waiting for this user's allocation quota, held by another check of the same credential: %w", err)
}
