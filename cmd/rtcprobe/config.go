package main

import (
	"bytes"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
)

// maxConfigFile bounds a config file: real ones are a few KiB.
const maxConfigFile = 1 << 20

// loadConfig reads and validates a config file against the catalogue;
// ${VAR} references are resolved from this process's environment. A file
// that is too big or not text is refused before it is parsed.
func loadConfig(file string, catalog []*checks.Check) (*config.Config, error) {
	data, err := readFileLimited(file, maxConfigFile)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", file, err)
	}
	if err := textOnly(data); err != nil {
		return nil, fmt.Errorf("config %s: %w", file, err)
	}
	return config.Parse(file, data, config.Env{Catalog: checks.Entries(catalog), LookupEnv: os.LookupEnv})
}

// textOnly refuses binary data, naming the line of the first offending
// byte: YAML is UTF-8 text, and the parser's own messages about NULs or
// invalid bytes name no line.
func textOnly(data []byte) error {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Errorf("line %d: not UTF-8 text (byte 0x%02x): a config file is YAML text", lineOf(data, i), data[i])
		case r == 0:
			return fmt.Errorf("line %d: NUL byte: a config file is YAML text, not binary", lineOf(data, i))
		}
		i += size
	}
	return nil
}

func lineOf(data []byte, offset int) int { return bytes.Count(data[:offset], []byte("\n")) + 1 }
