package router

import (
	"bytes"
	"fmt"

	"github.com/golang/protobuf/jsonpb" //nolint:staticcheck // the JSON codec Istio's own types use: it reads Go durations such as 24h
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

// DecodeIstio reads an Istio message (spec.service.headers, corsPolicy,
// trafficPolicy keep Istio's shapes) from a canary field, refusing fields
// the message does not have rather than dropping them.
func DecodeIstio(field string, raw *apiextensionsv1.JSON, into proto.Message) error {
	u := jsonpb.Unmarshaler{AllowUnknownFields: false}
	if err := u.Unmarshal(bytes.NewReader(raw.Raw), protoadapt.MessageV1Of(into)); err != nil { //nolint:staticcheck // see the import
		return fmt.Errorf("%s is not a valid Istio %s: %w", field, proto.MessageName(into).Name(), err)
	}
	return nil
}
