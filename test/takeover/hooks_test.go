package takeover

import (
	"strings"

	flaggerv1 "github.com/serin-dev/serin/api/v1beta1"
	"github.com/serin-dev/serin/test/framework"
)

// hookTypes are the webhooks each canary registers: every type a promoted
// or failed canary could call, and rollout for the analysis that goes on.
var hookTypes = []flaggerv1.HookType{
	flaggerv1.ConfirmRolloutHook, flaggerv1.PreRolloutHook, flaggerv1.RolloutHook,
	flaggerv1.ConfirmPromotionHook, flaggerv1.PostRolloutHook, flaggerv1.EventHook,
}

// receiver takes the webhooks of several canaries, at /<canary>/<hook type>.
type receiver struct{ *framework.HookReceiver }

// webhooks are a canary's webhooks, one of each type, on the receiver.
func (r receiver) webhooks(canary string) []flaggerv1.CanaryWebhook {
	var out []flaggerv1.CanaryWebhook
	for _, typ := range hookTypes {
		out = append(out, flaggerv1.CanaryWebhook{Name: string(typ), Type: typ, URL: r.URL(canary + "/" + string(typ))})
	}
	return out
}

// callsOf returns the calls made for a canary, by hook type.
func (r receiver) callsOf(canary string) map[string]int {
	out := map[string]int{}
	for path, n := range r.Calls() {
		if typ, ok := strings.CutPrefix(path, canary+"/"); ok {
			out[typ] = n
		}
	}
	return out
}
