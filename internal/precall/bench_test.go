package precall

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkCallSessions: 50 pion clients speaking the page's protocol hold
// calls at once with the server's peers (audio and video both ways, 10 s
// each, on loopback). Reported: loss from the server's peers (down) and
// at them (up, the worst call), and the time to connect.
func BenchmarkCallSessions(b *testing.B) {
	const sessions = 50
	f := startFixture(b, fixtureConfig{opt: Options{SessionsPerMinute: 10000, MaxSessions: 200, MaxSessionsPerAddress: 200, MaxSessionsPerNetwork: 200}})
	for b.Loop() {
		run := runLoad(b, f, sessions, 10*time.Second)
		var connect []time.Duration
		frames := 0
		for _, o := range run.outcomes {
			connect = append(connect, o.Connected)
			frames += o.DownVideo.Frames
		}
		slices.Sort(connect)
		b.ReportMetric(float64(len(run.outcomes)), "calls")
		b.ReportMetric(run.downLossPct(), "down-loss-%")
		b.ReportMetric(slices.Max(run.upLossPct), "worst-up-loss-%")
		b.ReportMetric(float64(frames)/float64(len(run.outcomes))/10, "down-fps/call")
		b.ReportMetric(float64(connect[len(connect)*95/100].Milliseconds()), "connect-p95-ms")
	}
}
