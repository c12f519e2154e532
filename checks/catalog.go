package checks

// Catalog returns every check rtcprobe knows, in report order. Each group
// lives in its own file.
func Catalog() []*Check {
	var all []*Check
	all = append(all, stunChecks()...)
	all = append(all, turnChecks()...)
	all = append(all, firewallChecks()...)
	all = append(all, natChecks()...)
	all = append(all, signalingChecks()...)
	all = append(all, iceChecks()...)
	all = append(all, mediaChecks()...)
	all = append(all, dataChannelChecks()...)
	all = append(all, mediaServerChecks()...)
	all = append(all, loadChecks()...)
	all = append(all, auditChecks()...)
	all = append(all, browserChecks()...)
	all = append(all, interopChecks()...)
	return all
}
