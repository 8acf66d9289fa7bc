// Command serin-dashboard serves Serin's web dashboard: the canaries a
// person may see, each release live, and its levers, behind Kubernetes
// authentication (TokenReview) and authorization (SubjectAccessReview).
// It runs apart from the operator, with its own narrow ServiceAccount,
// so that the operator exposes no user-facing port. See docs/dashboard.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/serin-dev/serin/internal/dashboard"
)

// The dashboard's ServiceAccount needs these rights; they are generated
// into config/dashboard/role.yaml.
// +kubebuilder:rbac:groups=flagger.app,resources=canaries,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=get;list;watch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

func parseFlags(args []string) (dashboard.Config, zap.Options) {
	var c dashboard.Config
	fs := flag.NewFlagSet("serin-dashboard", flag.ExitOnError)
	fs.StringVar(&c.Addr, "bind-address", ":8080", "Address the dashboard listens on.")
	fs.StringVar(&c.CertFile, "tls-cert-file", "", "Serve HTTPS with this certificate (with --tls-private-key-file); plain HTTP when unset, for a TLS-terminating ingress or kubectl port-forward.")
	fs.StringVar(&c.KeyFile, "tls-private-key-file", "", "The private key of --tls-cert-file.")
	fs.StringVar(&c.Namespace, "namespace", "", "Only show canaries of this namespace; all namespaces when empty.")
	fs.BoolVar(&c.Auth.AllowAnonymous, "allow-anonymous", false, "Serve requests without a token as system:anonymous; RBAC still decides what that user sees and may change.")
	fs.DurationVar(&c.Auth.CacheTTL, "auth-cache-ttl", 10*time.Second, "How long a TokenReview or SubjectAccessReview answer is reused: a revoked token or role stops working within it.")
	fs.IntVar(&c.Server.MaxStreams, "max-streams", 200, "Live update streams served at once.")
	fs.IntVar(&c.Server.MaxStreamsPerUser, "max-streams-per-user", 16, "Live update streams one user may hold at once.")
	c.Server.Heartbeat = 15 * time.Second
	opts := zap.Options{}
	opts.BindFlags(fs)
	_ = fs.Parse(args)
	return c, opts
}

func main() {
	cfg, zapOpts := parseFlags(os.Args[1:])
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("dashboard")
	restCfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "load kubeconfig:", err)
		os.Exit(1)
	}
	if err := dashboard.Run(ctrl.SetupSignalHandler(), log, restCfg, cfg); err != nil {
		log.Error(err, "Dashboard stopped")
		os.Exit(1)
	}
}
