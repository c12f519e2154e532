// Package input reads what a command line names, rtcprobe's and rtcprobe
// serve's alike: a config file and a CA bundle, each within a size limit,
// refused with an error that says why (the caller names the flag).
package input

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"

	"github.com/rtcprobe/rtcprobe/checks"
	"github.com/rtcprobe/rtcprobe/checks/config"
)

// ReadFile reads a file of at most limit bytes; a bigger one is an error
// that says so, without reading more than limit+1 bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, UnwrapPath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, UnwrapPath(err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d KiB", limit>>10)
	}
	return data, nil
}

// UnwrapPath is err without the path an *os.PathError repeats: the
// caller's message names the file already.
func UnwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// MaxConfigFile bounds a config file: real ones are a few KiB.
const MaxConfigFile = 1 << 20

// LoadConfig reads and validates a config file against the catalogue;
// ${VAR} references are resolved from this process's environment. A file
// that is too big or not text is refused before it is parsed.
func LoadConfig(file string, catalog []*checks.Check) (*config.Config, error) {
	data, err := ReadFile(file, MaxConfigFile)
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

// MaxCAFile bounds a CA bundle: a bundle of every public root is
// about 200 KB.
const MaxCAFile = 4 << 20

// ClientTLS builds the client TLS settings from a CA file (PEM) and
// whether to skip verification; nil means the system roots. An error is
// the file's, for the caller to name with its flag.
func ClientTLS(caFile string, insecure bool) (*tls.Config, error) {
	switch {
	case insecure:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, nil //nolint:gosec // asked for
	case caFile == "":
		return nil, nil
	}
	pem, err := ReadFile(caFile, MaxCAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in the file")
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}
