package report

import _ "embed"

// JSONSchema is the JSON Schema (draft 2020-12) of the JSON report,
// schema rtcprobe/v1.
//
//go:embed schema/rtcprobe-v1.schema.json
var JSONSchema []byte
