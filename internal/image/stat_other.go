//go:build !unix

package image

import "io/fs"

func statOf(fs.FileInfo) fileStat { return fileStat{} }
