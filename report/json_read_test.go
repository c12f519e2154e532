package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestReadJSONRoundTrip: a report read back from its JSON writes the same
// JSON again (what rtcprobe serve stores is what it renders).
func TestReadJSONRoundTrip(t *testing.T) {
	rep := fullFixture()
	rep.Environment.Client = "192.0.2.0/24"
	var first bytes.Buffer
	if err := WriteJSON(&first, rep); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if err := WriteJSON(&second, back); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Fatalf("round trip changed the report:\n%s\nvs\n%s", first.String(), second.String())
	}
	if back.Summary().Status != rep.Summary().Status || len(back.Results) != len(rep.Results) {
		t.Fatalf("summary %v vs %v", back.Summary(), rep.Summary())
	}
	validateJSON(t, compileSchema(t), second.Bytes())
	if _, err := ReadJSON(strings.NewReader(`{"schema":"other/v9"}`)); err == nil {
		t.Fatal("a report of another schema was read")
	}
}

// An endless report is refused at MaxJSONBytes, naming the bound.
func TestReadJSONIsBounded(t *testing.T) {
	endless := io.MultiReader(strings.NewReader(`{"schema":"`), infinite('A'))
	_, err := ReadJSON(endless)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("err = %v, want the size bound", err)
	}
}

// TestReadJSONReadsNoFurther: ReadJSON reads at most MaxJSONBytes and
// one more of an endless report, and says the bound it stopped at. The
// reader fails a mebibyte past the bound, so that reading further fails
// fast.
func TestReadJSONReadsNoFurther(t *testing.T) {
	r := &countingReader{r: io.MultiReader(strings.NewReader(`{"schema":"`), infinite('A')), fail: MaxJSONBytes + 1<<20}
	_, err := ReadJSON(r)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("larger than %d bytes", MaxJSONBytes)) {
		t.Errorf("err = %v, want the size bound", err)
	}
	if r.n > MaxJSONBytes+1 {
		t.Errorf("read %d bytes of an endless report, want at most %d", r.n, MaxJSONBytes+1)
	}
}

// countingReader counts what is read from r, and fails once fail bytes
// have been read.
type countingReader struct {
	r       io.Reader
	n, fail int
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.fail {
		return 0, errors.New("read past the bound")
	}
	p = p[:min(len(p), c.fail-c.n)]
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// infinite is a reader of one byte repeated without end.
type infinite byte

func (b infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// TestReadJSONRepeat: a repeated run's report reads back with its
// iterations, and writes the same JSON again.
func TestReadJSONRepeat(t *testing.T) {
	var first bytes.Buffer
	if err := WriteJSON(&first, repeatFixture()); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.Repeat == nil || len(back.Repeat.Iterations) != len(repeatFixture().Repeat.Iterations) {
		t.Fatalf("iterations not read back: %+v", back.Repeat)
	}
	var second bytes.Buffer
	if err := WriteJSON(&second, back); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Fatalf("round trip changed the report:\n%s\nvs\n%s", first.String(), second.String())
	}
}
