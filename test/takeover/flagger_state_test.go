package takeover

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// flaggerCanary is a canary as Flagger leaves it when it is scaled down.
type flaggerCanary struct {
	name         string
	phase        flaggerv1.CanaryPhase
	weight       int // status.canaryWeight, also the HTTPRoute's canary weight
	failedChecks int
	// targetImage is the target's image; primaryImage the one Flagger
	// promoted last.
	targetImage, primaryImage string
	// targetReplicas is 0 once Flagger scaled the canary down.
	targetReplicas int32
}

const (
	port       = 9898
	flaggerID  = "6b1ea4b6-1d3c-4c5a-9c4e-2f0d3e2a7b51"
	finalizer  = "finalizer.flagger.app"
	configData = "#34577c"
)

// build creates what Flagger leaves for f in ns, the canary's webhooks on
// rcv, and returns the canary.
func (f flaggerCanary) build(t *testing.T, ns string, rcv receiver) *flaggerv1.Canary {
	t.Helper()
	e := framework.Get()
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: f.name + "-config", Namespace: ns}, Data: map[string]string{"color": configData}}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: f.name + "-secret", Namespace: ns}, Data: map[string][]byte{"token": []byte("s3cr3t")}}
	target := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: f.name, Namespace: ns, Labels: map[string]string{"app": f.name}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(f.targetReplicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": f.name}},
			Template: f.podTemplate(f.name, f.targetImage, f.name+"-config", f.name+"-secret", map[string]string{"prometheus.io/scrape": "true"}),
		},
	}
	canary := f.canary(ns, rcv)
	for _, o := range []client.Object{cm, secret, target, canary} {
		if err := e.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
	owner := []metav1.OwnerReference{*metav1.NewControllerRef(canary, flaggerv1.GroupVersion.WithKind("Canary"))}
	generated := []client.Object{
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: cm.Name + "-primary", Namespace: ns, OwnerReferences: owner}, Data: cm.Data},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secret.Name + "-primary", Namespace: ns, OwnerReferences: owner}, Data: secret.Data},
		f.primary(ns, owner),
		f.service(ns, f.name, f.name+"-primary", owner),
		f.service(ns, f.name+"-primary", f.name+"-primary", owner),
		f.service(ns, f.name+"-canary", f.name, owner),
		f.route(ns, owner),
	}
	for _, o := range generated {
		if err := e.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
	f.writeStatus(t, canary, cm.Data)
	return canary
}

// podTemplate is the target's pod template, or the primary's with the
// renamed configs and Flagger's flagger-id.
func (f flaggerCanary) podTemplate(app, image, configMap, secret string, annotations map[string]string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}, Annotations: annotations},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "podinfo", Image: image, Command: []string{"./podinfo", "--port=9898"},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
				Env: []corev1.EnvVar{{Name: "PODINFO_UI_COLOR", ValueFrom: &corev1.EnvVarSource{
					ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: configMap}, Key: "color"}}}},
				VolumeMounts: []corev1.VolumeMount{{Name: "secrets", MountPath: "/etc/podinfo"}},
			}},
			Volumes: []corev1.Volume{{Name: "secrets", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: secret}}}},
		},
	}
}

func (f flaggerCanary) canary(ns string, rcv receiver) *flaggerv1.Canary {
	return &flaggerv1.Canary{
		ObjectMeta: metav1.ObjectMeta{Name: f.name, Namespace: ns, Finalizers: []string{finalizer}},
		Spec: flaggerv1.CanarySpec{
			Provider:         "gatewayapi:v1",
			TargetRef:        flaggerv1.TargetReference{APIVersion: "apps/v1", Kind: "Deployment", Name: f.name},
			RevertOnDeletion: true,
			Service: flaggerv1.CanaryService{
				Port:        port,
				GatewayRefs: []flaggerv1.ParentReference{{Name: "mesh"}},
				Headers:     &apiextensionsv1.JSON{Raw: []byte(`{"request":{"add":{"x-served-by":"podinfo"}}}`)},
			},
			Analysis: &flaggerv1.CanaryAnalysis{Interval: "2s", StepWeight: 5, MaxWeight: 50, Threshold: 5, Webhooks: rcv.webhooks(f.name)},
		},
	}
}

// primary is the -primary Deployment as Flagger's promotion leaves it:
// the promoted template under the primary label, with configs renamed and
// a flagger-id annotation on the pods.
func (f flaggerCanary) primary(ns string, owner []metav1.OwnerReference) *appsv1.Deployment {
	name := f.name + "-primary"
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}, OwnerReferences: owner},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
			Template: f.podTemplate(name, f.primaryImage, f.name+"-config-primary", f.name+"-secret-primary",
				map[string]string{"prometheus.io/scrape": "true", "flagger-id": flaggerID}),
		},
	}
}

func (f flaggerCanary) service(ns, name, selects string, owner []metav1.OwnerReference) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}, OwnerReferences: owner},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: map[string]string{"app": selects},
			Ports:    []corev1.ServicePort{{Name: "http", Port: port, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(port)}},
		},
	}
}

// route is Flagger's HTTPRoute: the gateway, the header filter of
// spec.service.headers, and the weights of the release.
func (f flaggerCanary) route(ns string, owner []metav1.OwnerReference) *gatewayv1.HTTPRoute {
	backend := func(name string, weight int) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: ptr.To(gatewayv1.PortNumber(port))},
			Weight:                 ptr.To(int32(weight)),
		}}
	}
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Name: f.name, Namespace: ns, OwnerReferences: owner},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "mesh"}}},
			Rules: []gatewayv1.HTTPRouteRule{{
				Filters: []gatewayv1.HTTPRouteFilter{{Type: gatewayv1.HTTPRouteFilterRequestHeaderModifier,
					RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Add: []gatewayv1.HTTPHeader{{Name: "x-served-by", Value: "podinfo"}}}}},
				BackendRefs: []gatewayv1.HTTPBackendRef{backend(f.name+"-primary", 100-f.weight), backend(f.name+"-canary", f.weight)},
			}},
		},
	}
}

// writeStatus writes the status in Flagger's shape: its fnv32a revision
// hashes, its config checksums (sha256 of the JSON data, 8 bytes), and its
// Promoted condition with lastUpdateTime.
func (f flaggerCanary) writeStatus(t *testing.T, canary *flaggerv1.Canary, data map[string]string) {
	t.Helper()
	ctx := context.Background()
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(flaggerv1.GroupVersion.WithKind("Canary"))
	framework.MustGet(t, canary.Namespace, canary.Name, u)
	now := time.Now().UTC().Format(time.RFC3339)
	promoted := map[flaggerv1.CanaryPhase][2]string{
		flaggerv1.CanaryPhaseSucceeded:   {"True", "Canary analysis completed successfully, promotion finished."},
		flaggerv1.CanaryPhaseFailed:      {"False", "Canary analysis failed, Deployment scaled to zero."},
		flaggerv1.CanaryPhaseProgressing: {"Unknown", "New revision detected, progressing canary analysis."},
	}[f.phase]
	u.Object["status"] = map[string]any{
		"phase": string(f.phase), "canaryWeight": int64(f.weight), "failedChecks": int64(f.failedChecks), "iterations": int64(0),
		"lastAppliedSpec":    flaggerHash(f.targetImage),
		"lastPromotedSpec":   flaggerHash(f.primaryImage),
		"trackedConfigs":     map[string]any{"configmap/" + f.name + "-config": flaggerChecksum(data), "secret/" + f.name + "-secret": flaggerChecksum(map[string]string{"token": "czNjcjN0"})},
		"lastTransitionTime": now,
		"conditions": []any{map[string]any{
			"type": "Promoted", "status": promoted[0], "reason": string(f.phase), "message": promoted[1],
			"lastUpdateTime": now, "lastTransitionTime": now,
		}},
	}
	if err := framework.Get().Client.Status().Update(ctx, u); err != nil {
		t.Fatalf("write Flagger's status of %s: %v", f.name, err)
	}
}

// flaggerHash looks like Flagger's lastAppliedSpec: an fnv32a hash, safe
// encoded. Serin cannot compute it from the template.
func flaggerHash(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return rand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

// flaggerChecksum is Flagger's trackedConfigs value for a config's data.
func flaggerChecksum(data map[string]string) string {
	b, _ := json.Marshal(data)
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%x", sum[:8])
}
