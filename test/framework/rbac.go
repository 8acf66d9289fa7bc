package framework

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/serin-dev/serin/test/cluster"
)

// The operator runs in the tests as cluster.OperatorUser, with exactly the
// permissions of the generated config/rbac/role.yaml: its ClusterRole bound
// cluster-wide, its leader-election Role bound in the namespace a test
// elects in (GrantLeaderElection). The API server's audit log records every
// request the operator makes, which holds the role to the code both ways:
//
//   - every request must be allowed: the package fails if the operator was
//     refused anything (a refusal the operator only logs, such as an event
//     it could not write, would otherwise go unnoticed);
//   - every permission must be used: a package that claims resources
//     (MainCheckingRBAC) fails, when all its tests ran, if the role grants
//     a verb on them that no request used, so a verb the code stopped using
//     is dropped from its +kubebuilder:rbac marker.

// operatorRole is the parsed config/rbac/role.yaml.
type operatorRole struct {
	cluster *rbacv1.ClusterRole
	leases  *rbacv1.Role
}

func readOperatorRole(root string) (*operatorRole, error) {
	data, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	objs, err := DecodeObjects(data)
	if err != nil {
		return nil, fmt.Errorf("config/rbac/role.yaml: %w", err)
	}
	r := &operatorRole{}
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole":
			r.cluster = &rbacv1.ClusterRole{}
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, r.cluster)
		case "Role":
			r.leases = &rbacv1.Role{}
			err = runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, r.leases)
		}
		if err != nil {
			return nil, fmt.Errorf("config/rbac/role.yaml: %w", err)
		}
	}
	if r.cluster == nil || r.leases == nil {
		return nil, fmt.Errorf("config/rbac/role.yaml must hold the ClusterRole and the leader-election Role")
	}
	return r, nil
}

// bindOperator creates the ClusterRole and binds it to the operator's user.
func (r *operatorRole) bindOperator(ctx context.Context, cl client.Client) error {
	role := r.cluster.DeepCopy()
	if err := cl.Create(ctx, role); err != nil {
		return fmt.Errorf("create ClusterRole %s: %w", role.Name, err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: cluster.OperatorUser}},
	}
	if err := cl.Create(ctx, binding); err != nil {
		return fmt.Errorf("bind ClusterRole %s: %w", role.Name, err)
	}
	return nil
}

// GrantLeaderElection gives the operator's user the leader-election Role
// of config/rbac/role.yaml in namespace ns.
func (e *Env) GrantLeaderElection(t testing.TB, ns string) {
	t.Helper()
	role := e.role.leases.DeepCopy()
	role.Namespace = ns
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: cluster.OperatorUser}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := e.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("grant leader election in %s: %v", ns, err)
		}
	}
}

// permission is a verb on a resource ("deployments", "canaries/status")
// of an API group.
type permission struct{ group, resource, verb string }

func (p permission) String() string {
	if p.group == "" {
		return p.verb + " " + p.resource
	}
	return p.verb + " " + p.resource + "." + p.group
}

// checkOperatorRequests reads the audit log: it returns the operator's
// refused requests and, for the claimed resources, the granted verbs no
// request used.
func (e *Env) checkOperatorRequests(claimed []string, checkUnused bool) []string {
	reqs, err := e.Cluster.OperatorRequests()
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	used, denied := map[permission]bool{}, map[permission]string{}
	for _, r := range reqs {
		resource := r.Resource
		if r.Subresource != "" {
			resource += "/" + r.Subresource
		}
		p := permission{r.Group, resource, r.Verb}
		if r.Denied {
			denied[p] = r.URI
			continue
		}
		// A request authorized but failed otherwise (a conflict, a
		// namespace being deleted) used its verb all the same.
		used[p] = true
	}
	for p, uri := range denied {
		problems = append(problems, fmt.Sprintf("the operator was refused %s (e.g. %s): add it to a +kubebuilder:rbac marker beside the code that needs it and run make generate", p, uri))
	}
	sort.Strings(problems)
	if checkUnused {
		for _, p := range unusedPermissions(e.role, used, claimed) {
			problems = append(problems, fmt.Sprintf("config/rbac/role.yaml grants %s, which the operator never used in this package's tests: drop it from its +kubebuilder:rbac marker, or test the code that needs it", p))
		}
	}
	return problems
}

// shown tells whether permission p shows in the audit log, as a request
// of its own or as one that stands for it:
//   - get and list come with watch: informers read through their cache,
//     and start with a watch that sends the current objects where the API
//     server supports it (a list where it does not); get also comes with
//     list, which reads every object anyway;
//   - patch of events comes with create: the event recorder patches the
//     count of a repeated event;
//   - update of canaries/finalizers is checked by the API server itself
//     (OwnerReferencesPermissionEnforcement) when an object owned by a
//     canary is created, which the test cluster does not enforce.
func shown(p permission, used map[permission]bool) bool {
	as := func(verb string) bool { return used[permission{p.group, p.resource, verb}] }
	switch {
	case used[p]:
		return true
	case p.verb == "get":
		return as("list") || as("watch")
	case p.verb == "list":
		return as("watch")
	case p == permission{"", "events", "patch"}:
		return as("create")
	case p == permission{"flagger.app", "canaries/finalizers", "update"}:
		return used[permission{"apps", "deployments", "create"}]
	}
	return false
}

func unusedPermissions(role *operatorRole, used map[permission]bool, claimed []string) []string {
	var out []string
	rules := append(append([]rbacv1.PolicyRule{}, role.cluster.Rules...), role.leases.Rules...)
	for _, rule := range rules {
		for _, g := range rule.APIGroups {
			for _, res := range rule.Resources {
				if !slices.Contains(claimed, res) {
					continue
				}
				for _, v := range rule.Verbs {
					if p := (permission{g, res, v}); !shown(p, used) {
						out = append(out, p.String())
					}
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// fullRun tells whether every test of the package ran: no -run, -skip or
// -short narrowed it.
func fullRun() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short()
}

// rbacReport prints the problems found in the audit log and returns the
// package's exit code.
func rbacReport(code int, problems []string) int {
	if len(problems) == 0 {
		return code
	}
	fmt.Fprintln(os.Stderr, "RBAC of the operator does not match what it does:\n  "+strings.Join(problems, "\n  "))
	return 1
}
