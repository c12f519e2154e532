package exporter

// slots is a counting semaphore that never waits: a probe either gets a
// slot or is refused (429), so a stuck target cannot queue up scrapes.
type slots chan struct{}

func newSlots(n int) slots {
	if n <= 0 {
		return nil
	}
	return make(slots, n)
}

// take reports whether a slot was free; nil slots are unlimited.
func (s slots) take() bool {
	if s == nil {
		return true
	}
	select {
	case s <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s slots) release() {
	if s != nil {
		<-s
	}
}
