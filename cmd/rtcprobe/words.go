package main

import (
	"github.com/rtcprobe/rtcprobe/checks/config"
)

// inputFlags are the flags for what a run takes besides options, by the
// key the libraries refer to them with ({option:whip_token}).
var inputFlags = map[string]string{
	"insecure":    "insecure",
	"ca":          "ca",
	"whip":        "whip",
	"whep":        "whep",
	"whip_token":  "whip-token",
	"username":    "user",
	"password":    "password",
	"turn_secret": "turn-secret",
	"rest_user":   "user",
	"turn_ttl":    "turn-ttl",
	"checks":      "checks",
	"profile":     "profile",
}

// cliWords names options as the command line sets them: "--count",
// "--checks load", "--turn-ipv6=false".
func cliWords(key, value string) string {
	name, isBool := inputFlags[key], key == "insecure"
	if o := config.LookupOption(key); o != nil {
		name, isBool = o.Flag, o.Bool
	}
	switch {
	case name == "":
		return ""
	case value == "" || isBool && value == "true":
		return "--" + name
	case isBool:
		return "--" + name + "=" + value
	}
	return "--" + name + " " + value
}

// say words a library's text for the command line.
func say(s string) string { return config.Words(cliWords).Say(s) }

// sayErr is err in the command line's words.
func sayErr(err error) string { return say(err.Error()) }
