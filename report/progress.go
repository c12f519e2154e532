package report

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/rtcprobe/rtcprobe/checks/result"
)

// Progress prints one line per result as the checks finish, so a person
// at a terminal sees a long run move. The caller only makes one when the
// output is a terminal.
type Progress struct {
	mu    sync.Mutex
	w     io.Writer
	total int
	done  int
	color bool
}

// NewProgress reports on total runs; color adds ANSI colors to statuses.
func NewProgress(w io.Writer, total int, color bool) *Progress {
	return &Progress{w: w, total: total, color: color}
}

// Result prints one finished run: "[ 3/12] PASS  stun.udp  stun:… rtt median 0.2 ms (12ms)".
// It is safe to call from several goroutines.
func (p *Progress) Result(r result.Result) {
	r = cleanResult(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	status := fmt.Sprintf("%-5s", strings.ToUpper(string(r.Status)))
	if p.color {
		status = statusColors[r.Status] + status + "\x1b[0m"
	}
	width := len(fmt.Sprint(p.total))
	line := fmt.Sprintf("[%*d/%d] %s %s  %s", width, p.done, p.total, status, r.CheckID, r.Target)
	if m := measured(r); m != "" && (r.Status == result.Pass || r.Status == result.Warn) {
		line += "  " + strings.ReplaceAll(m, "\n", ", ")
	}
	if r.Status != result.Pass && r.Error != "" {
		line += "  " + firstLine(r.Error)
	}
	line += fmt.Sprintf("  (%s)", durationText(r.Duration))
	fmt.Fprintln(p.w, line)
}

// Done ends the progress lines with a blank line before the table.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done > 0 {
		fmt.Fprintln(p.w)
	}
}
