// Package cli is the kubectl-serin command: `kubectl serin` lists
// canaries, shows a release live, explains its last step and pulls its
// levers (promote, abort, retry, pause, resume). It takes kubectl's own
// flags (--kubeconfig, --context, -n …) from k8s.io/cli-runtime and writes
// for people on a terminal (in colour on a TTY) or JSON and YAML for
// programs.
package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
)

// options are the flags every command shares.
type options struct {
	config  *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	// output is -o: "" for text, json or yaml.
	output string
	// color is --color: auto (on a TTY, unless NO_COLOR is set), always or never.
	color string
}

// NewCommand returns the kubectl-serin root command.
func NewCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &options{config: genericclioptions.NewConfigFlags(true), streams: streams}
	root := &cobra.Command{
		Use:   "kubectl-serin",
		Short: "See and steer Serin canary releases",
		Long: "kubectl serin shows canary releases — phase, weight, every check of every step with its value and threshold — " +
			"and pulls their levers: promote, abort, retry, pause and resume. Levers are annotations on the Canary " +
			"(serin.dev/promote …), so RBAC's patch on canaries decides who may pull them.",
		SilenceUsage:  true,
		SilenceErrors: true,
		// kubectl runs the plugin for `kubectl serin`; help says so.
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl serin"},
	}
	o.config.AddFlags(root.PersistentFlags())
	root.PersistentFlags().StringVar(&o.color, "color", "auto", "Colour the output: auto (on a terminal, unless NO_COLOR is set), always or never.")
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	root.AddCommand(newGetCommand(o), newStatusCommand(o), newExplainCommand(o))
	for _, c := range newLeverCommands(o) {
		root.AddCommand(c)
	}
	return root
}

// Main runs the command with args and returns the process's exit code.
func Main(args []string) int {
	cmd := NewCommand(genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		return 1
	}
	return 0
}

// addOutputFlag adds -o to a command that can print JSON or YAML.
func (o *options) addOutputFlag(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format: json or yaml; text for people when empty.")
}

// validate refuses flag values the commands do not know.
func (o *options) validate() error {
	switch o.output {
	case "", "json", "yaml":
	default:
		return fmt.Errorf("--output %q is not supported: use json or yaml, or leave it out for text", o.output)
	}
	switch o.color {
	case "auto", "always", "never":
	default:
		return fmt.Errorf("--color %q is not supported: use auto, always or never", o.color)
	}
	return nil
}

// clients are what the commands talk to the cluster with.
type clients struct {
	client.WithWatch
	typed     kubernetes.Interface
	namespace string
}

// connect builds clients from kubectl's flags.
func (o *options) connect() (*clients, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	ns, _, err := o.config.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := flaggerv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	cl, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, err
	}
	typed, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &clients{WithWatch: cl, typed: typed, namespace: ns}, nil
}

// getCanary reads one canary, with an error that says where it looked.
func (c *clients) getCanary(ctx context.Context, name string) (*flaggerv1.Canary, error) {
	canary := &flaggerv1.Canary{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: c.namespace, Name: name}, canary); err != nil {
		return nil, fmt.Errorf("get canary %s in namespace %s: %w", name, c.namespace, err)
	}
	return canary, nil
}
