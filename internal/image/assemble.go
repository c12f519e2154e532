package image

import (
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// layerFile is a layer written to disk and what its history says of it.
type layerFile struct {
	path, createdBy string
}

// assemble makes an OCI image of cfg and the layers, bottom first, each
// with a history entry at the config's created time.
func assemble(cfg *v1.ConfigFile, layers []layerFile) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	for _, l := range layers {
		layer, err := openLayer(l.path)
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
			History: v1.History{Created: cfg.Created, CreatedBy: l.createdBy}})
		if err != nil {
			return nil, err
		}
	}
	return img, nil
}
