package probes

import (
	"math"
	"time"
)

// The E-model (ITU-T G.107) rates a voice call on a 0-100 transmission
// rating scale R and maps it to an estimated mean opinion score (MOS,
// 1-4.5). rtcprobe uses the parts that depend on what it measures:
//
//	R = R0 - Is - Id - Ie,eff + A
//
//   - R0 - Is - Id with every G.107 default (Table 3) and no extra delay
//     gives 93.2. Echo is taken as cancelled (as WebRTC's AEC does), so of
//     Id only the absolute-delay term Idd varies: Idd = 0 for Ta <= 100 ms,
//     else, with X = log2(Ta / 100 ms) (G.107 eq. 7-28, mT = 100, sT = 1):
//     Idd = 25 * ((1 + X^6)^(1/6) - 3 * (1 + (X/3)^6)^(1/6) + 2).
//   - Ie,eff = Ie + (95 - Ie) * Ppl / (Ppl/BurstR + Bpl) (G.107 eq. 7-29),
//     with Ppl the packet loss in percent and BurstR = 1 (random loss, as
//     loss_pct cannot tell bursts apart).
//   - A (advantage factor) = 0: a fixed-line expectation.
//   - Ta, the one-way mouth-to-ear delay, is estimated as RTT/2 (network)
//     + 2 x jitter (a jitter buffer sized to twice the RFC 3550 jitter, a
//     common receiver choice) + one codec frame (packetisation).
//
// MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6 for 0 < R < 100, 1 below,
// 4.5 above (G.107 Annex B).

// rDefault is R with every G.107 default parameter (G.107 §7.7).
const rDefault = 93.2

// Codec holds the E-model's equipment impairment values for a codec.
type Codec struct {
	Name string
	// Ie is the equipment impairment without loss; Bpl the packet-loss
	// robustness factor (ITU-T G.113 Appendix I).
	Ie, Bpl float64
	// Frame is the packetisation interval.
	Frame time.Duration
}

// CodecOpus is Opus at the clip's 32 kbit/s with packet loss concealment.
// G.113 gives no narrowband values for Opus; at this rate Opus is at least
// as good as G.711, so G.711 with PLC's values (Ie = 0, Bpl = 25.1, G.113
// Appendix I) are used: an approximation on the cautious side.
var CodecOpus = Codec{Name: "opus", Ie: 0, Bpl: 25.1, Frame: 20 * time.Millisecond}

// MouthToEar estimates the one-way delay Ta in ms (see above).
func MouthToEar(rtt, jitter time.Duration, c Codec) float64 {
	return float64(rtt/2+2*jitter+c.Frame) / float64(time.Millisecond)
}

// RFactor is the E-model rating for a one-way delay ta (ms) and a packet
// loss lossPct (%) with codec c.
func RFactor(ta, lossPct float64, c Codec) float64 {
	idd := 0.0
	if ta > 100 {
		x := math.Log2(ta / 100)
		idd = 25 * (math.Pow(1+math.Pow(x, 6), 1.0/6) - 3*math.Pow(1+math.Pow(x/3, 6), 1.0/6) + 2)
	}
	ieEff := c.Ie + (95-c.Ie)*lossPct/(lossPct+c.Bpl)
	return rDefault - idd - ieEff
}

// MOSFromR maps an R rating to the estimated MOS (G.107 Annex B).
func MOSFromR(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	return 1 + 0.035*r + r*(r-60)*(100-r)*7e-6
}
