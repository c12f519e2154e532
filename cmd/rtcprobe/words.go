package main

import (
	"github.com/rtcprobe/rtcprobe/checks/config"
)

// cliWords names the options the libraries refer to as flags.
var cliWords = config.Words(config.FlagWords)

// say words a library's text for the command line.
func say(s string) string { return cliWords.Say(s) }

// sayErr is err in the command line's words.
func sayErr(err error) string { return say(err.Error()) }
