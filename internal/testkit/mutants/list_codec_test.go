package mutants

// Broadcast and codecs (issue #28): the viewers' summary across a
// broadcast, one viewer's figures, and pion's inspection of a codec's
// RTP stream.
func init() {
	mutants = append(mutants,
		mutant{
			Name: "fps_p5 and bitrate_p5 computed as the 95th percentile",
			File: "probes/stats.go",
			Old:  `m.SetMetric(base+"_p5"+unit, round3(v.Percentile(5)))`,
			New:  `m.SetMetric(base+"_p5"+unit, round3(v.Percentile(95)))`,
			Pkg:  "./probes", Run: `^TestSummariseViewers$`,
		},
		mutant{
			Name: "broadcast fps summarised as p95/max instead of p5/min",
			File: "probes/mediaserver.go",
			Old:  `fps.Record(m, "fps", true)`,
			New:  `fps.Record(m, "fps", false)`,
			Pkg:  "./probes", Run: `^TestSummariseViewers$`,
		},
		mutant{
			Name: "broadcast bitrate summarised as p95/max instead of p5/min",
			File: "probes/mediaserver.go",
			Old:  `rate.Record(m, "bitrate_kbps", true)`,
			New:  `rate.Record(m, "bitrate_kbps", false)`,
			Pkg:  "./probes", Run: `^TestSummariseViewers$`,
		},
		mutant{
			Name: "broadcast first_frame_*_ms in seconds",
			File: "probes/mediaserver.go",
			Old:  `first = append(first, ms(s.FirstFrame))`,
			New:  `first = append(first, s.FirstFrame.Seconds())`,
			Pkg:  "./probes", Run: `^TestSummariseViewers$`,
		},
		mutant{
			Name: "viewer first_frame_ms in seconds",
			File: "probes/whippeers.go",
			Old:  `m.SetMetric("first_frame_ms", ms(s.FirstFrame))`,
			New:  `m.SetMetric("first_frame_ms", s.FirstFrame.Seconds())`,
			Pkg:  "./probes", Run: `^TestRecordViewer$`,
		},
		mutant{
			Name: "viewer fps one frame high per span (frames, not intervals)",
			File: "probes/whippeers.go",
			Old:  `return round3(float64(frames-1) / span.Seconds())`,
			New:  `return round3(float64(frames) / span.Seconds())`,
			Pkg:  "./probes", Run: `^TestViewerFrameRate$`,
		},
		mutant{
			Name: "a silent viewer counted as no loss",
			File: "probes/mediaserver.go",
			Old:  `loss = append(loss, 100)`,
			New:  `loss = append(loss, 0)`,
			Pkg:  "./probes", Run: `^TestSummariseViewersSilent$`,
		},
		mutant{
			Name: "an audio-only viewer left out of the fps summary",
			File: "probes/mediaserver.go",
			Old:  `fps = append(fps, 0)`,
			New:  `_ = fps`,
			Pkg:  "./probes", Run: `^TestSummariseViewersSilent$`,
		},
		mutant{
			// The sort gone, the window in the middle of the recording
			// stands for all (the import kept in use).
			Name: "clock rate from the middle window instead of the median",
			File: "probes/codecstream.go",
			Old:  `slices.Sort(rates)`,
			New:  `rates = slices.Clip(rates)`,
			Pkg:  "./probes", Run: `^TestCodecStreamClockMidStall$`,
		},
		mutant{
			Name: "sequence numbers compared unwrapped: after the wrap every packet is reordered",
			File: "probes/codecstream.go",
			Old:  `switch d := int16(p.SequenceNumber - s.lastSeq); {`,
			New:  `switch d := int(p.SequenceNumber) - int(s.lastSeq); {`,
			Pkg:  "./probes", Run: `^TestCodecStreamSeqWrap$/^in_order$`,
		},
		mutant{
			Name: "a repeated RTP timestamp not counted in timestamps_back",
			File: "probes/codecstream.go",
			Old:  `int32(p.Timestamp-s.frameTS) <= 0`,
			New:  `int32(p.Timestamp-s.frameTS) < 0`,
			Pkg:  "./probes", Run: `^TestCodecStreamTimestampsBack$/^repeated$`,
		},
		mutant{
			Name: "clock_error_pct as a fraction (4 % reads 0.04)",
			File: "probes/codecstream.go",
			Old:  `return 100 * math.Abs(st.ClockRateHz-float64(clockRate)) / float64(clockRate)`,
			New:  `return math.Abs(st.ClockRateHz-float64(clockRate)) / float64(clockRate)`,
			Pkg:  "./probes", Run: `^TestCodecStreamClockError$`,
		},
		mutant{
			Name: "a late packet's sequence number taken as the newest",
			File: "probes/codecstream.go",
			Old: `		s.reordered++
		return`,
			New: `		s.reordered++`,
			Pkg: "./probes", Run: `^TestCodecStreamSeqWrap$/^one_late$`,
		},
		mutant{
			Name: "a sequence gap counted one packet too many",
			File: "probes/codecstream.go",
			Old:  `s.seqGaps += int(d) - 1`,
			New:  `s.seqGaps += int(d)`,
			Pkg:  "./probes", Run: `^TestCodecStreamFaults$/^lost_packet$`,
		},
		mutant{
			Name: "the timestamp span taken unwrapped: after the 32-bit wrap it stops",
			File: "probes/codecstream.go",
			Old:  `if d := int32(p.Timestamp - s.lastTS); d > 0 {`,
			New:  `if d := int64(p.Timestamp) - int64(s.lastTS); d > 0 {`,
			Pkg:  "./probes", Run: `^TestCodecStreamTimestampWrap$`,
		},
		mutant{
			Name: "frame timestamps compared unwrapped: the 32-bit wrap counts as going back",
			File: "probes/codecstream.go",
			Old:  `int32(p.Timestamp-s.frameTS) <= 0`,
			New:  `p.Timestamp <= s.frameTS`,
			Pkg:  "./probes", Run: `^TestCodecStreamTimestampWrap$`,
		},
	)
}
