package main

// firewallProfile is what `rtcprobe firewall …` means: the firewall
// profile (STUN, TURN, the firewall matrix, NAT behaviour, signaling) with
// the conventional STUN/TURN ports added to the matrix. Flags given after
// it win, since the last occurrence of a flag counts.
func firewallProfile() []string {
	return []string{"--profile", "firewall", "--ports", "3478,5349,443"}
}
