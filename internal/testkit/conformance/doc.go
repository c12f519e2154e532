// Package conformance points rtcprobe at STUN/TURN and signaling servers it
// did not write — coturn in many configurations, node-turn, the stun
// package's server, a ws signaling server, PeerJS — and asserts the status,
// the cause and the key words of the advice of each verdict. coturn's own
// clients (turnutils_uclient) measure the same path as the yardstick for
// loss.
//
// The Node servers come from node/package.json, installed with `npm ci`
// (make node-deps); the tests find them in node/node_modules.
package conformance
