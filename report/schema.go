package report

import _ "embed"

// JSONSchema is the JSON Schema (draft 2020-12) of the JSON report,
// schema rtcprobe/v1.
//
//go:embed schema/rtcprobe-v1.schema.json
var JSONSchema []byte

// JSONSchemaRepeat is the JSON Schema of a repeated run's report, schema
// rtcprobe/v2: rtcprobe/v1 plus the repeat object.
//
//go:embed schema/rtcprobe-v2.schema.json
var JSONSchemaRepeat []byte
