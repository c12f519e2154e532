package precall

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/rtcprobe/rtcprobe/internal/testkit/pgtest"
)

// postAPI posts a session's result with only the api check, secure or
// not (an insecure context fails browser.api).
func postAPI(t *testing.T, f *fixture, secure bool) string {
	t.Helper()
	s := f.session(t)
	res := strings.Replace(apiResult, `"secureContext":true`, fmt.Sprintf(`"secureContext":%v`, secure), 1)
	r := f.do(t, "POST", "api/precall/result", post(fmt.Sprintf(`[{"task":%d,"ok":true,"ms":5,"result":%s}]`, taskID(t, s, "browser.api"), res)), tokenHeader(s))
	if r.code != http.StatusCreated {
		t.Fatalf("posting: %d %s", r.code, r.body)
	}
	var v struct{ ID, Verdict string }
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatal(err)
	}
	return v.ID
}

// TestAdminListsAndExports: the admin list, its filters, the CSV and JSON
// exports and the API agree on what is stored.
func TestAdminListsAndExports(t *testing.T) {
	f := startFixture(t, fixtureConfig{})
	good := postAPI(t, f, true)
	bad := postAPI(t, f, false)
	var list struct {
		Results []listItem `json:"results"`
	}
	r := f.do(t, "GET", "api/v1/results", nil, admin())
	if err := json.Unmarshal([]byte(r.body), &list); err != nil || len(list.Results) != 2 || list.Results[0].ID != bad {
		t.Fatalf("the list, newest first: %v %s", err, r.body)
	}
	if it := list.Results[0]; it.Verdict != "fail" || it.Browser != "Firefox 153.0" || it.OS != "Linux" || it.Client != "127.0.0.0/24" ||
		len(it.Failing) != 1 || it.Failing[0] != "browser.api" {
		t.Errorf("the failing result: %+v", it)
	}
	for q, want := range map[string][]string{
		"verdict=fail": {bad}, "verdict=pass": {good}, "failing=browser.api": {bad}, "browser=firefox": {bad, good},
		"browser=chrome": nil, "since=2000-01-01&limit=1": {bad}, "until=2000-01-01": nil,
	} {
		r := f.do(t, "GET", "api/v1/results?"+q, nil, admin())
		list.Results = nil
		if err := json.Unmarshal([]byte(r.body), &list); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var got []string
		for _, it := range list.Results {
			got = append(got, it.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("?%s: %v, want %v", q, got, want)
		}
	}
	csvBody := f.do(t, "GET", "admin/export?format=csv&verdict=fail", nil, admin())
	rows, err := csv.NewReader(strings.NewReader(csvBody.body)).ReadAll()
	if err != nil || len(rows) != 2 || rows[0][0] != "id" || rows[1][0] != bad || rows[1][6] != "browser.api" {
		t.Fatalf("CSV export: %v %q", err, csvBody.body)
	}
	var export []struct {
		ID     string          `json:"id"`
		Report json.RawMessage `json:"report"`
	}
	jsonBody := f.do(t, "GET", "admin/export?format=json", nil, admin())
	if err := json.Unmarshal([]byte(jsonBody.body), &export); err != nil || len(export) != 2 {
		t.Fatalf("JSON export: %v", err)
	}
	for _, e := range export {
		stored := f.do(t, "GET", "api/v1/results/"+e.ID, nil, admin())
		var a, b any
		if json.Unmarshal([]byte(stored.body), &a) != nil || json.Unmarshal(e.Report, &b) != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("the export of %s differs from the stored report", e.ID)
		}
	}
	page := f.do(t, "GET", "admin?verdict=fail", nil, admin())
	if !strings.Contains(page.body, "admin/results/"+bad) || strings.Contains(page.body, good) {
		t.Errorf("/admin?verdict=fail lists the wrong results")
	}
	if r := f.do(t, "GET", "r/"+strings.ToLower(bad), nil); r.code != http.StatusNotFound {
		t.Errorf("a malformed report ID = %d, want 404", r.code)
	}
	if r := f.do(t, "GET", "r/"+bad, nil); r.code != http.StatusOK || !strings.Contains(r.body, "browser.api") {
		t.Errorf("the user's link = %d", r.code)
	}
}

// TestAdminBrowserFilterRefusesControlCharacters: a NUL in the browser
// filter cut SQLite's LIKE pattern short (browser=%00 listed every result)
// and is not text to PostgreSQL (500); the list, the export and /admin
// answer 400 naming the parameter instead, on both stores.
func TestAdminBrowserFilterRefusesControlCharacters(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			fc := fixtureConfig{}
			if db == "postgres" {
				fc.dsn = pgtest.Start(t).DSN()
			}
			f := startFixture(t, fc)
			postAPI(t, f, true)
			for _, v := range []string{"fire%00zz", "%00", "fire%0Afox", "fire%7F", "fire%C2%85", "fire%FFfox"} {
				for _, path := range []string{"api/v1/results", "admin/export?format=csv&", "admin?"} {
					u := path + "?browser=" + v
					if strings.HasSuffix(path, "&") || strings.HasSuffix(path, "?") {
						u = path + "browser=" + v
					}
					r := f.do(t, "GET", u, nil, admin())
					if r.code != http.StatusBadRequest || !strings.Contains(r.body, "parameter browser") {
						t.Errorf("%s: %d %.200q; want 400 naming the browser parameter", u, r.code, r.body)
					}
				}
			}
			// Text that is not a control character still filters.
			r := f.do(t, "GET", "api/v1/results?browser=fire%20", nil, admin())
			if r.code != http.StatusOK {
				t.Errorf("browser=fire%%20: %d %s", r.code, r.body)
			}
		})
	}
}

// TestCSVCell: values a spreadsheet would run as formulas are quoted.
func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{"=HYPERLINK(1)": "'=HYPERLINK(1)", "+1": "'+1", "Firefox 153.0": "Firefox 153.0", "": ""} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}
