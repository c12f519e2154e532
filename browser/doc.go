// Package browser drives a real Chrome/Chromium over the DevTools protocol
// (chromedp) to measure what the browser can do for WebRTC: API support,
// devices, getUserMedia, capture resolutions, picture and microphone
// quality, codecs, ICE gathering, a loopback call and a call with a
// pion/webrtc peer in this process. It measures only; the checks package
// owns the thresholds.
//
// The checks are JavaScript functions in pages/rtcprobe.js, served with
// pages/index.html by a page server on 127.0.0.1 and opened as
// http://localhost:PORT (a secure context, which getUserMedia requires).
// Each returns a JSON result and judges nothing, so the same files can be
// served to any browser as a self-service pre-call page (see Pages).
// PageChecks lists them, with what the rest of rtcprobe needs to know of
// each: a check is added there and in rtcprobe.js (a test holds the two
// together, and the pre-call page's schema and stages to the list).
//
// One browser process serves a whole run (Session starts it on first use);
// each check gets its own tab, and its console messages and uncaught
// exceptions become evidence. Close always ends the process and removes
// its temporary profile; if rtcprobe itself is killed, the kernel's
// parent-death signal ends the browser.
//
// Permissions: camera and microphone are granted to the page origin via
// DevTools at launch instead of --use-fake-ui-for-media-stream, because that
// switch accepts every request and would override a denial set via
// DevTools, which the tests use to exercise NotAllowedError for real.
//
// Certificates: the browser verifies TURN-over-TLS servers as it verifies
// any TLS server, against the system's authorities, plus the certificates
// in Config.TrustedCerts (by public key): that is how it trusts the
// embedded server's self-signed one. The pion peer of an interop call
// dials TURN over TLS with the target's own TLS settings.
//
// Network: everything the checks make the browser send goes to loopback
// when the ICE servers are loopback ones (the embedded server):
//   - no mDNS host candidates (WebRtcHideLocalIpsWithMdns disabled), so
//     nothing is multicast on the LAN; no media-router discovery, no QUIC,
//     no background or component-update requests;
//   - the loopback and interop calls drop every candidate that is neither a
//     loopback address nor a relay before it reaches the other side, and the
//     pion peer binds to loopback only (unless it must reach a non-loopback
//     TURN server for a relay-only call), so connectivity checks and media
//     only ever target 127.0.0.1/::1;
//   - Chrome still gathers host candidates on every interface (no switch
//     restricts it: --force-webrtc-ip-handling-policy only hides or
//     proxies), which binds sockets but sends nothing except to the
//     configured servers and the filtered remote candidates. Tests run in a
//     network namespace with only lo, where there is nothing else.
package browser
