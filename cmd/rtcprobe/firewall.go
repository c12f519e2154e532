package main

// firewallProfile is what `rtcprobe firewall …` means: the checks a
// network admin needs (reachability matrix, NAT behaviour, signaling) with
// the conventional STUN/TURN ports added. Flags given after it win, since
// the last occurrence of a flag counts.
func firewallProfile() []string {
	return []string{"--checks", "firewall,nat,signaling", "--ports", "3478,5349,443"}
}
