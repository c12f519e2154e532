package browser

// The page checks: the functions of pages/rtcprobe.js (rtcprobe.checks),
// by the name a Task calls them by.
const (
	PageAPI          = "api"
	PageDevices      = "devices"
	PageGetUserMedia = "getUserMedia"
	PageResolutions  = "resolutions"
	PageVideoQuality = "videoQuality"
	PageAudioQuality = "audioQuality"
	PageCodecs       = "codecs"
	PageICE          = "ice"
	PageLoopback     = "loopback"
	PageInterop      = "interop"
	PageCodecCall    = "codecCall"
	PageAnswerCall   = "answerCall"
)

// PageCheck is what the rest of rtcprobe needs to know of a page check.
// One table says it, so the page, the pre-call page's schema and its
// validation cannot drift apart by a name (tests hold each of them to it).
type PageCheck struct {
	// Name is the function's name in pages/rtcprobe.js.
	Name string
	// Schema is the definition of its result in the pre-call page's
	// results schema (internal/precall/schema, $defs); empty for checks
	// only a browser rtcprobe drives runs, which the pre-call page never
	// posts.
	Schema string
	// Captures is true when the check opens the camera or microphone:
	// a tab running it holds the camera lock.
	Captures bool
	// CapturesAlone is true when no other capturing page may run beside
	// it (exact-size constraints need the camera to itself).
	CapturesAlone bool
	// OwnRenderer is true when the check counts frames or audio chunks
	// in the page's script: in Chrome it runs on a site of its own, so
	// its main thread is not the one every other tab's script runs on.
	OwnRenderer bool
}

var pageChecks = []PageCheck{
	{Name: PageAPI, Schema: "api"},
	{Name: PageDevices, Schema: "devices", Captures: true},
	{Name: PageGetUserMedia, Schema: "getUserMedia", Captures: true},
	{Name: PageResolutions, Captures: true, CapturesAlone: true},
	{Name: PageVideoQuality, Schema: "videoQuality", Captures: true, OwnRenderer: true},
	{Name: PageAudioQuality, Schema: "audioQuality", Captures: true, OwnRenderer: true},
	{Name: PageCodecs, Schema: "codecs_result"},
	{Name: PageICE, Schema: "ice"},
	{Name: PageLoopback, Captures: true},
	{Name: PageInterop, Schema: "interop", Captures: true},
	{Name: PageCodecCall},
	{Name: PageAnswerCall},
}

// PageChecks are every page check.
func PageChecks() []PageCheck { return append([]PageCheck(nil), pageChecks...) }

// LookupPageCheck is the page check named name.
func LookupPageCheck(name string) (PageCheck, bool) {
	for _, c := range pageChecks {
		if c.Name == name {
			return c, true
		}
	}
	return PageCheck{}, false
}
