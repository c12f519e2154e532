package image

import (
	"strconv"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Options say what every image is stamped with.
type Options struct {
	Version  string    // the binary's version (main.version) and the images' tag
	Revision string    // the commit built, for the revision label; may be empty
	Created  time.Time // every layer entry's time and the config's created time
	Arch     string    // GOARCH of the binary and the image
}

// Source is the repository the images name as theirs.
const Source = "https://github.com/rtcprobe/rtcprobe"

// config is an image's config: run as the non-root user from its home,
// with rtcprobe as the entrypoint and the OCI labels that say what it is.
func config(o Options, title, description string, env []string, ports []string) *v1.ConfigFile {
	labels := map[string]string{
		"org.opencontainers.image.title":       title,
		"org.opencontainers.image.description": description,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.source":      Source,
		"org.opencontainers.image.url":         Source,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
	if o.Revision != "" {
		labels["org.opencontainers.image.revision"] = o.Revision
	}
	exposed := map[string]struct{}{}
	for _, p := range ports {
		exposed[p] = struct{}{}
	}
	id := strconv.Itoa(UID)
	return &v1.ConfigFile{
		Architecture: o.Arch,
		OS:           "linux",
		Created:      v1.Time{Time: o.Created.UTC()},
		RootFS:       v1.RootFS{Type: "layers"},
		Config: v1.Config{
			User:         id + ":" + id,
			Entrypoint:   []string{"/usr/bin/rtcprobe"},
			Env:          append(env, "HOME="+Home),
			WorkingDir:   Home,
			Labels:       labels,
			ExposedPorts: exposed,
		},
	}
}
