package mutants

// The runner's scheduler (checks/schedule.go): what a job waits for, and
// in which order jobs are admitted.
func init() {
	mutants = append(mutants, mutant{
		Name: "pages sharing the camera take it while the camera-alone page waits",
		File: "checks/schedule.go",
		Old:  "|| t.camera != nil && cameraWanted[t.camera] {",
		New:  "{",
		Pkg:  "./checks", Run: `^TestSchedulerCameraAloneNotOvertaken$`,
	}, mutant{
		Name: "jobs admitted in catalogue order, not the camera-alone page and the longest work first",
		File: "checks/schedule.go",
		Old:  "return 0, 0\n\t\t}\n\t\treturn 1, -j.Check.Takes",
		New:  "return 1, 0\n\t\t}\n\t\treturn 1, 0",
		Pkg:  "./checks", Run: `^TestJobRanks$`,
	}, mutant{
		Name: "the camera-alone page admitted beside a page sharing the camera",
		File: "checks/schedule.go",
		Old:  "\t\treturn s.cameras[t.camera] == 0\n",
		New:  "\t\treturn s.cameras[t.camera] >= 0\n",
		Pkg:  "./checks", Run: `^TestSchedulerCameraAloneWaitsForReaders$`,
	}, mutant{
		Name: "jobs granted only as their goroutines come, not by rank from the start",
		File: "checks/schedule.go",
		Old:  "granted: make(chan struct{}), ready: !needsBrowser(j)}",
		New:  "granted: make(chan struct{}), ready: false}",
		Pkg:  "./checks", Run: `^TestSchedulerBlockedHoldNoSlot$`,
	}, mutant{
		Name: "browser.resolutions waits for the camera the others share though it has one of its own",
		File: "checks/schedule.go",
		Old:  "alone := t.alone && t.camera.CapturesAlone(t.page)",
		New:  "alone := t.alone",
		Pkg:  "./checks", Run: `^TestSchedulerSpareCamera$`,
	}, mutant{
		Name: "Chrome not asked for a spare camera",
		File: "browser/browser.go",
		Old:  "\t\treturn \"device-count=2\"\n",
		New:  "\t\treturn true\n",
		Pkg:  "./browser", Run: `^TestSpareCamera$`,
	}, mutant{
		Name: "a tab running browser.resolutions takes the camera alone though it has a spare",
		File: "browser/camera.go",
		Old:  "return pc.CapturesAlone && !cfg.spareCamera()",
		New:  "return pc.CapturesAlone",
		Pkg:  "./browser", Run: `^TestResolutionsBesideSharedCamera$`,
	})
}

// What this machine explains of a result (checks/hostload.go) and what
// the meter counts (probes/hostdrops.go).
func init() {
	mutants = append(mutants, mutant{
		Name: "a loss measured while this machine dropped UDP datagrams blamed on the network",
		File: "checks/hostload.go",
		Old:  "case m.Host.DropsKnown && m.Host.UDPDrops > 0 && isLossMetric(v.Metric):",
		New:  "case false:",
		Pkg:  "./checks", Run: `^TestJudgeLossWhileThisHostDropped$`,
	}, mutant{
		Name: "drops read where the kernel does not say",
		File: "checks/hostload.go",
		Old:  "case m.Host.DropsKnown && m.Host.UDPDrops > 0 && isLossMetric(v.Metric):",
		New:  "case m.Host.UDPDrops > 0 && isLossMetric(v.Metric):",
		Pkg:  "./checks", Run: `^TestJudgeLossWhileThisHostDropped$`,
	}, mutant{
		Name: "UDP drops over IPv6 not counted",
		File: "probes/hostdrops.go",
		Old:  "return v4 + v6, ok4 && ok6",
		New:  "return v4 + v6*0, ok4 && ok6",
		Pkg:  "./probes", Run: `^TestHostLoadCountsUDPDrops$`,
	})
}

// What keeps a default run's own work from disturbing its numbers: kept
// browser tabs, the peers' socket buffers.
func init() {
	mutants = append(mutants, mutant{
		Name: "every check opens a tab of its own again",
		File: "browser/tab.go",
		Old:  "\t\tb.tabs.put(kept)\n",
		New:  "\t\tcloseTab()\n",
		Pkg:  "./browser", Run: `^TestTabsKept$`,
	}, mutant{
		Name: "a kept tab keeps the last check's page (its camera, its calls)",
		File: "browser/tabpool.go",
		Old:  `err := chromedp.Do(t.ctx, chromedp.Navigate("about:blank"))`,
		New:  `err := error(nil)`,
		Pkg:  "./browser", Run: `^TestTabsKept$`,
	}, mutant{
		Name: "the pages that count frames share the other pages' renderer",
		File: "browser/pagechecks.go",
		Old:  `{Name: PageVideoQuality, Schema: "videoQuality", Captures: true, OwnRenderer: true},`,
		New:  `{Name: PageVideoQuality, Schema: "videoQuality", Captures: true},`,
		Pkg:  "./browser", Run: `^TestQualityPagesOwnRenderer$`,
	}, mutant{
		Name: "the peers' UDP sockets keep the kernel's default receive buffer",
		File: "probes/peernet.go",
		Old:  "_ = c.SetReadBuffer(peerReadBuffer) //",
		New:  "_ = c //",
		Pkg:  "./probes", Run: `^TestPeerNetReadBuffer$`,
	})
}
