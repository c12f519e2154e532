package probes

import (
	"math"
	"testing"
	"time"
)

// The expected values below were worked out by hand from the formulas in
// emodel.go (Idd, Ie,eff, Annex B), rounded to 3 decimals.
func TestEModelReferencePoints(t *testing.T) {
	for _, tc := range []struct {
		name           string
		ta, loss       float64
		wantR, wantMOS float64
	}{
		// Ta <= 100 ms, no loss: R is the default 93.2;
		// MOS = 1 + 3.262 + 93.2*33.2*6.8*7e-6 = 4.409.
		{"defaults", 50, 0, 93.2, 4.409},
		// Ta = 200 ms: X = 1, Idd = 25*(2^(1/6) - 3*(1+1/729)^(1/6) + 2) = 3.044.
		{"200ms", 200, 0, 90.156, 4.343},
		// Ta = 400 ms: X = 2, Idd = 25*(65^(1/6) - 3*(1+(2/3)^6)^(1/6) + 2) = 24.070.
		{"400ms", 400, 0, 69.130, 3.556},
		// 5 % loss: Ie,eff = 95*5/(5+25.1) = 15.781.
		{"5pct", 50, 5, 77.419, 3.923},
		// 20 % loss: Ie,eff = 95*20/45.1 = 42.129; R < 60 makes the cubic term negative.
		{"20pct", 50, 20, 51.071, 2.631},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := RFactor(tc.ta, tc.loss, CodecOpus)
			if math.Abs(r-tc.wantR) > 0.001 {
				t.Errorf("R = %.4f, want %.3f", r, tc.wantR)
			}
			if mos := MOSFromR(r); math.Abs(mos-tc.wantMOS) > 0.001 {
				t.Errorf("MOS = %.4f, want %.3f", mos, tc.wantMOS)
			}
		})
	}
}

func TestMOSBounds(t *testing.T) {
	for _, tc := range []struct{ r, want float64 }{{-10, 1}, {0, 1}, {100, 4.5}, {120, 4.5}} {
		if got := MOSFromR(tc.r); got != tc.want {
			t.Errorf("MOSFromR(%v) = %v, want %v", tc.r, got, tc.want)
		}
	}
	// Monotonic: worse conditions never score better.
	prev := 5.0
	for loss := 0.0; loss <= 50; loss += 2.5 {
		mos := MOSFromR(RFactor(MouthToEar(300*time.Millisecond, 10*time.Millisecond, CodecOpus), loss, CodecOpus))
		if mos > prev {
			t.Fatalf("MOS rose from %v to %v as loss rose to %v%%", prev, mos, loss)
		}
		prev = mos
	}
}

func TestMouthToEar(t *testing.T) {
	// 100 ms RTT, 5 ms jitter, 20 ms frames: 50 + 10 + 20.
	if got := MouthToEar(100*time.Millisecond, 5*time.Millisecond, CodecOpus); got != 80 {
		t.Errorf("Ta = %v ms, want 80", got)
	}
}
