package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Options say what to build and how to label it.
type Options struct {
	// Root is the repository root.
	Root string
	// Out is the output folder.
	Out string
	// Version stamps the binaries (main.version) and labels the images.
	Version string
	// Revision and Source label the images.
	Revision, Source string
	// Created is the image creation time and every file's time.
	Created time.Time
	// Platforms to build for.
	Platforms []Platform
}

// Platform is an OS and architecture.
type Platform = v1.Platform

// Built is one image for one platform.
type Built struct {
	Name     string
	Platform Platform
	Digest   v1.Hash
	// Tarball is the docker-format tarball of this image.
	Tarball string
}

// spec describes one image.
type spec struct {
	name        string
	description string
	programs    []program
}

// images are the images the project ships: the operator, and the load
// tester with the load generators its webhooks run.
var images = []spec{
	{name: "serin", description: "Serin progressive-delivery operator, compatible with Flagger's flagger.app API",
		programs: []program{{name: "serin", module: ".", pkg: "./cmd/serin", stampVersion: true}}},
	{name: "serin-loadtester", description: "Serin load tester and gate service, with hey and ghz",
		programs: []program{
			{name: "serin-loadtester", module: ".", pkg: "./cmd/serin-loadtester", stampVersion: true},
			{name: "hey", module: "hack/tools/loadtest", pkg: "github.com/rakyll/hey"},
			{name: "ghz", module: "hack/tools/loadtest", pkg: "github.com/bojand/ghz/cmd/ghz"},
		}},
}

// Build compiles the programs and writes both images for every platform.
func Build(o Options) ([]Built, error) {
	bins := filepath.Join(o.Out, "bin")
	if err := os.RemoveAll(o.Out); err != nil {
		return nil, err
	}
	base, err := baseFiles()
	if err != nil {
		return nil, err
	}
	var built []Built
	for _, s := range images {
		idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
		for _, pl := range o.Platforms {
			img, err := buildImage(o, s, pl, base, bins)
			if err != nil {
				return nil, fmt.Errorf("image %s for %s/%s: %w", s.name, pl.OS, pl.Architecture, err)
			}
			b, err := writeTarball(o, s, pl, img)
			if err != nil {
				return nil, err
			}
			built = append(built, b)
			idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
		}
		// One layout per image, holding its multi-platform index, so that
		// `crane push build/images/<name> REF` pushes exactly that image.
		lay, err := layout.Write(filepath.Join(o.Out, s.name), empty.Index)
		if err != nil {
			return nil, err
		}
		ref := s.name + ":" + o.Version
		if err := lay.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
			return nil, err
		}
	}
	return built, os.RemoveAll(bins)
}

// buildImage makes one image: the shared base layer, a layer with the
// programs, and a config that runs the first program as the non-root user.
func buildImage(o Options, s spec, pl Platform, base map[string]file, bins string) (v1.Image, error) {
	paths := map[string]string{}
	for _, p := range s.programs {
		out, err := compile(o, p, pl, bins)
		if err != nil {
			return nil, err
		}
		paths[p.name] = out
	}
	progs, err := binaryFiles(paths)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for _, files := range []map[string]file{base, progs} {
		l, err := layer(files, o.Created)
		if err != nil {
			return nil, err
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "hack/images"}}); err != nil {
			return nil, err
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created = pl.OS, pl.Architecture, v1.Time{Time: o.Created}
	cfg.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", nonRootID, nonRootID),
		Entrypoint: []string{"/usr/local/bin/" + s.programs[0].name},
		WorkingDir: "/home/" + nonRootName,
		Env: []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"HOME=/home/" + nonRootName,
			"SSL_CERT_FILE=" + caBundle,
		},
		Labels: map[string]string{
			"org.opencontainers.image.title":       s.name,
			"org.opencontainers.image.description": s.description,
			"org.opencontainers.image.version":     o.Version,
			"org.opencontainers.image.revision":    o.Revision,
			"org.opencontainers.image.source":      o.Source,
			"org.opencontainers.image.created":     o.Created.Format(time.RFC3339),
		},
	}
	return mutate.ConfigFile(img, cfg)
}

// writeTarball writes the image as <name>-<os>-<arch>.tar, tagged
// <name>:<version>.
func writeTarball(o Options, s spec, pl Platform, img v1.Image) (Built, error) {
	tag, err := name.NewTag(s.name+":"+o.Version, name.WeakValidation)
	if err != nil {
		return Built{}, fmt.Errorf("tag %s:%s: %w", s.name, o.Version, err)
	}
	path := filepath.Join(o.Out, fmt.Sprintf("%s-%s-%s.tar", s.name, pl.OS, pl.Architecture))
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		return Built{}, err
	}
	digest, err := img.Digest()
	return Built{Name: s.name, Platform: pl, Digest: digest, Tarball: path}, err
}
