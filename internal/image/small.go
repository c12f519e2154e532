package image

import (
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/rtcprobe/rtcprobe/internal/release"
)

// CACertificates is where Debian's ca-certificates keeps its bundle, the
// first place Go's crypto/x509 looks on Linux.
const CACertificates = "/etc/ssl/certs/ca-certificates.crt"

// Small builds the rtcprobe image from the static programs in the
// directory bin (release.Programs, built for Linux), with the
// CA bundle at caFile (the machine's own, normally CACertificates). Its
// layers are written in work, which must outlive the image. Two layers:
// the files around the binary (users, certificates, a home and /tmp),
// then the programs, the same layer as in the browsers image.
func Small(bin, caFile, work string, o Options) (v1.Image, error) {
	base := filepath.Join(work, "rtcprobe-base.tar.gz")
	if err := writeListLayer(base, baseFiles(caFile), o.Created); err != nil {
		return nil, err
	}
	binLayer, err := binaryLayer(bin, work, o)
	if err != nil {
		return nil, err
	}
	cfg := config(o, "rtcprobe", "WebRTC capability and connectivity tests: rtcprobe serve and the network checks",
		[]string{"PATH=/usr/bin"}, []string{"9781/tcp"})
	return assemble(cfg, []layerFile{
		{base, "users " + User + " (" + strconv.Itoa(UID) + ") and root, CA certificates, " + Home + ", /tmp"},
		binLayer,
	})
}

// binaryLayer writes the layer holding the programs in work.
func binaryLayer(bin, work string, o Options) (layerFile, error) {
	path := filepath.Join(work, "rtcprobe-binary.tar.gz")
	return layerFile{path, "rtcprobe " + o.Version + " (/usr/bin/" + strings.Join(release.Programs, ", /usr/bin/") + ")"},
		writeListLayer(path, binaryFiles(bin), o.Created)
}

// baseFiles are the small image's files besides the binary. There is no
// shell and no package manager: nothing but rtcprobe runs in it.
func baseFiles(caFile string) []File {
	root := func(name string, mode fs.FileMode) File { return File{Name: name, Mode: mode} }
	return []File{
		root("/etc", fs.ModeDir|0o755),
		{Name: "/etc/group", Mode: 0o644, Data: []byte("root:x:0:\n" + groupLine())},
		// Go's resolver reads it; without it, names in /etc/hosts would
		// not come first.
		{Name: "/etc/nsswitch.conf", Mode: 0o644, Data: []byte("hosts: files dns\n")},
		{Name: "/etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" + passwdLine())},
		root("/etc/ssl", fs.ModeDir|0o755),
		root("/etc/ssl/certs", fs.ModeDir|0o755),
		{Name: CACertificates, Mode: 0o644, Src: caFile},
		root("/home", fs.ModeDir|0o755),
		{Name: Home, Mode: fs.ModeDir | 0o755, UID: UID, GID: UID},
		root("/tmp", fs.ModeDir|fs.ModeSticky|0o777),
	}
}

// binaryFiles is the layer holding the programs built in bin.
func binaryFiles(bin string) []File {
	files := []File{
		{Name: "/usr", Mode: fs.ModeDir | 0o755},
		{Name: "/usr/bin", Mode: fs.ModeDir | 0o755},
	}
	for _, p := range release.Programs {
		files = append(files, File{Name: "/usr/bin/" + p, Mode: 0o755, Src: filepath.Join(bin, p)})
	}
	return files
}
