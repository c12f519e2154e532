package image

import (
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// RefName is the annotation by which an OCI layout names an image
// (skopeo's and umoci's oci:DIR:REF).
const RefName = "org.opencontainers.image.ref.name"

// WriteLayout puts img into the OCI image layout at dir (made when
// missing) under ref, replacing an image already there under that ref.
func WriteLayout(dir, ref string, img v1.Image) error {
	p, err := layout.FromPath(dir)
	if err != nil {
		if p, err = layout.Write(dir, empty.Index); err != nil {
			return err
		}
	}
	return p.ReplaceImage(img, match.Annotation(RefName, ref), layout.WithAnnotations(map[string]string{RefName: ref}))
}

// WriteArchive writes img as a docker-archive tarball tagged tag (what
// `podman load` and `docker load` read, and skopeo's docker-archive:).
func WriteArchive(file, tag string, img v1.Image) error {
	t, err := name.NewTag(tag, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("image tag %q: %w", tag, err)
	}
	return tarball.WriteToFile(file, t, img)
}

// Sizes are an image's compressed size (manifest, config and layers as
// a registry stores them) and its unpacked size (the layers' tars).
func Sizes(img v1.Image) (compressed, unpacked int64, err error) {
	m, err := img.RawManifest()
	if err != nil {
		return 0, 0, err
	}
	c, err := img.RawConfigFile()
	if err != nil {
		return 0, 0, err
	}
	compressed = int64(len(m) + len(c))
	layers, err := img.Layers()
	if err != nil {
		return 0, 0, err
	}
	for _, l := range layers {
		size, err := l.Size()
		if err != nil {
			return 0, 0, err
		}
		compressed += size
		r, err := l.Uncompressed()
		if err != nil {
			return 0, 0, err
		}
		n, err := io.Copy(io.Discard, r)
		r.Close()
		if err != nil {
			return 0, 0, err
		}
		unpacked += n
	}
	return compressed, unpacked, nil
}
