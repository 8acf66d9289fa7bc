package demo

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/serin-dev/serin/test/flux"
)

// GitOps is the seed's way of changing the application: commits to a git
// repository that Flux applies. A Scenario on a Stack started with
// Options.GitOps bootstraps and releases through it instead of writing to
// the cluster.
type GitOps struct {
	Repo *flux.Repo
	Sync flux.Sync
	// OnEvent, if set, receives a line for each commit and each apply.
	OnEvent func(source, line string)
}

// fluxInterval is how often Flux fetches and corrects drift on its own;
// the scenario asks it to sync right after each commit, as the seed's
// `fluxctl sync` does.
const fluxInterval = time.Minute

// syncTimeout bounds a commit's way through Flux.
const syncTimeout = 2 * time.Minute

// startGitOps starts the git server and Flux on the stack's cluster.
func (s *Stack) startGitOps(ctx context.Context) error {
	git, err := flux.StartGitServer(filepath.Join(s.Dir, "git"))
	if err != nil {
		return err
	}
	s.Git = git
	f, err := flux.Start(ctx, s.Cluster, s.Dir)
	if err != nil {
		return err
	}
	s.Flux = f
	s.logf("Git server (%s) and Flux source-controller and kustomize-controller up", git.URL)
	return nil
}

// gitBootstrap plays the seed's bootstrap as commits: the namespace and
// podinfo ("init app"), then the Canary ("add canary"), each synced.
func (sc *Scenario) gitBootstrap(ctx context.Context) error {
	repo, err := sc.Stack.Git.NewRepo(ctx, "apps-"+sc.Namespace, filepath.Join(sc.Stack.Dir, "git", "work-"+sc.Namespace))
	if err != nil {
		return err
	}
	sc.GitOps.Repo = repo
	sc.GitOps.Sync = flux.Sync{Name: sc.Namespace, Repo: repo, Path: "./" + sc.Namespace, Interval: fluxInterval}
	sha, err := sc.commit(ctx, "init app", TagFirst, "namespace.yaml", "podinfo.yaml")
	if err != nil {
		return err
	}
	if err := sc.GitOps.Sync.Create(ctx, sc.Stack.Client); err != nil {
		return err
	}
	if err := sc.sync(ctx, sha); err != nil {
		return err
	}
	sha, err = sc.commit(ctx, "add canary", TagFirst, "canary.yaml")
	if err != nil {
		return err
	}
	return sc.sync(ctx, sha)
}

// gitSetTag commits podinfo at tag ("update podinfo") and syncs it.
func (sc *Scenario) gitSetTag(ctx context.Context, tag string) error {
	sha, err := sc.commit(ctx, "update podinfo", tag, "podinfo.yaml")
	if err != nil {
		return err
	}
	return sc.sync(ctx, sha)
}

// commit renders manifests at tag into the namespace's directory of the
// repository, commits and pushes them.
func (sc *Scenario) commit(ctx context.Context, message, tag string, manifests ...string) (string, error) {
	files := map[string][]byte{}
	for _, m := range manifests {
		data, err := sc.Manifest(m, tag)
		if err != nil {
			return "", err
		}
		files[filepath.Join(sc.Namespace, m)] = data
	}
	sha, err := sc.GitOps.Repo.Commit(ctx, message, files)
	if err != nil {
		return "", err
	}
	sc.GitOps.event("git", fmt.Sprintf("git commit %s %q (%v, image tag %s) && git push", sha[:7], message, manifests, tag))
	return sha, nil
}

// sync asks Flux to fetch and apply now and waits until it has applied sha.
func (sc *Scenario) sync(ctx context.Context, sha string) error {
	start := time.Now()
	st, err := sc.GitOps.Sync.Reconcile(ctx, sc.Stack.Client, sha, syncTimeout)
	if err != nil {
		return err
	}
	sc.GitOps.event("flux", fmt.Sprintf("Kustomization %s/%s applied %s in %.1fs: %s", flux.Namespace, sc.GitOps.Sync.Name, st.AppliedRevision, time.Since(start).Seconds(), st.Message))
	return nil
}

func (g *GitOps) event(source, line string) {
	if g.OnEvent != nil {
		g.OnEvent(source, line)
	}
}
