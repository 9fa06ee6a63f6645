// Command k8s-oracle tells, with Kubernetes' own code, whether TracingConfiguration and
// KubeletConfiguration files are valid. It exists so that kubetrace's Python validator
// (`kubetrace validate`, tracing.config.load_tracing_file) can be checked against the real thing
// (tests/unit/test_k8s_oracle.py).
//
// Usage: k8s-oracle FILE...
//
// For each FILE it prints one line:
//
//	FILE<TAB>valid
//	FILE<TAB>invalid<TAB>MESSAGE
//
// MESSAGE is Kubernetes' own error text, with newlines and tabs escaped as \n and \t.
// The exit status is 0 when every file was judged (valid or not), 2 on a usage error.
//
// Which Kubernetes code runs:
//
//   - Any file whose kind is not KubeletConfiguration goes the way kube-apiserver's
//     --tracing-config-file goes (k8s.io/apiserver/pkg/server/options TracingOptions.ApplyTo):
//     options.ReadTracingConfiguration(path), the real function, which decodes with
//     runtime.DecodeInto(codecs.UniversalDecoder(), ...) where codecs is
//     serializer.NewCodecFactory(scheme, serializer.EnableStrict) over the apiserver.config.k8s.io
//     scheme (install.Install: v1alpha1, v1beta1, v1), so unknown fields, duplicate fields, wrong
//     types, missing kind/apiVersion, unregistered versions and other kinds are its errors; then
//     tracingapi.ValidateTracingConfiguration(cfg, feature.DefaultFeatureGate, nil)
//     (k8s.io/component-base/tracing/api/v1), with the same arguments ApplyTo passes.
//
//   - A file whose kind is KubeletConfiguration is decoded by the real apimachinery strict codec
//     (serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer(), the codec
//     the kubelet's DecodeKubeletConfiguration tries first) into a stand-in for
//     k8s.io/kubelet/config/v1beta1.KubeletConfiguration that keeps only its `tracing` field (same
//     type, *tracingapi.TracingConfiguration, same JSON name), registered as
//     kubelet.config.k8s.io/v1beta1 KubeletConfiguration. Strict errors are kept, except "unknown
//     field" errors for top-level fields other than tracing (the stand-in does not know the
//     kubelet's other fields); so duplicate keys anywhere and unknown fields inside tracing are
//     errors. Then tracingapi.ValidateTracingConfiguration(cfg.Tracing, feature.DefaultFeatureGate,
//     field.NewPath("tracing")), as the kubelet's ValidateKubeletConfiguration does.
//
//     Caveat (reported in the message): the real kubelet
//     (k8s.io/kubernetes/pkg/kubelet/kubeletconfig/util/codec.DecodeKubeletConfiguration) retries a
//     kubelet.config.k8s.io/v1beta1 file that fails only on strictness (unknown or duplicate
//     fields) with a lenient decoder and just logs "Using lenient decoding as strict decoding
//     failed". This oracle, like kubetrace, treats such a file as invalid; the message says
//     "(the real kubelet would decode it leniently and only warn)" when that applies.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/server/options"
	"k8s.io/apiserver/pkg/util/feature"
	tracingapi "k8s.io/component-base/tracing/api/v1"
	"sigs.k8s.io/yaml"
)

// kubeletConfiguration stands in for k8s.io/kubelet/config/v1beta1.KubeletConfiguration: it has
// the same TypeMeta and the same `tracing` field, and nothing else.
type kubeletConfiguration struct {
	metav1.TypeMeta `json:",inline"`
	Tracing         *tracingapi.TracingConfiguration `json:"tracing,omitempty"`
}

func (in *kubeletConfiguration) DeepCopyObject() runtime.Object {
	out := *in
	if in.Tracing != nil {
		out.Tracing = in.Tracing.DeepCopy()
	}
	return &out
}

var kubeletGV = schema.GroupVersion{Group: "kubelet.config.k8s.io", Version: "v1beta1"}

var kubeletCodecs = func() serializer.CodecFactory {
	scheme := runtime.NewScheme()
	scheme.AddKnownTypeWithName(kubeletGV.WithKind("KubeletConfiguration"), &kubeletConfiguration{})
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict)
}()

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8s-oracle FILE...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Printf("%s\tinvalid\t%s\n", path, oneLine(err.Error()))
		} else {
			fmt.Printf("%s\tvalid\n", path)
		}
	}
}

func oneLine(s string) string {
	return strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\t", "\\t", "\r", "\\r").Replace(s)
}

func check(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// Only to choose the path: a lenient look at kind. Anything that is not clearly a
	// KubeletConfiguration goes to kube-apiserver's decoder, which reports its own errors.
	var tm metav1.TypeMeta
	if yaml.Unmarshal(data, &tm) == nil && tm.Kind == "KubeletConfiguration" {
		return checkKubelet(data)
	}
	return checkAPIServer(path)
}

// checkAPIServer: exactly kube-apiserver's TracingOptions.ApplyTo, up to building the provider.
func checkAPIServer(path string) error {
	traceConfig, err := options.ReadTracingConfiguration(path)
	if err != nil {
		return fmt.Errorf("failed to read tracing config: %v", err)
	}
	if errs := tracingapi.ValidateTracingConfiguration(traceConfig, feature.DefaultFeatureGate, nil); len(errs) > 0 {
		return fmt.Errorf("failed to validate tracing configuration: %v", errs.ToAggregate())
	}
	return nil
}

func checkKubelet(data []byte) error {
	obj, gvk, err := kubeletCodecs.UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		strict, ok := runtime.AsStrictDecodingError(err)
		if !ok {
			return fmt.Errorf("failed to decode: %w", err)
		}
		var kept []error
		for _, e := range strict.Errors() {
			if isOtherTopLevelUnknownField(e) {
				continue
			}
			kept = append(kept, e)
		}
		if len(kept) > 0 {
			return fmt.Errorf("failed to decode: %w (the real kubelet would decode it leniently and only warn)",
				runtime.NewStrictDecodingError(kept))
		}
	}
	kc, ok := obj.(*kubeletConfiguration)
	if !ok {
		return fmt.Errorf("failed to cast object to KubeletConfiguration, unexpected type: %v", gvk)
	}
	if errs := tracingapi.ValidateTracingConfiguration(kc.Tracing, feature.DefaultFeatureGate, field.NewPath("tracing")); len(errs) > 0 {
		return errors.Join(errs.ToAggregate().Errors()...)
	}
	return nil
}

// isOtherTopLevelUnknownField: a strict error `unknown field "X"` where X is not inside tracing
// (sigs.k8s.io/json names nested fields "parent.child", so tracing's own are "tracing.NAME"). Only
// top-level fields can be reported so: the decoder skips an unknown field's value whole. The
// kubelet knows these fields; the stand-in type does not.
func isOtherTopLevelUnknownField(err error) bool {
	msg := err.Error()
	const prefix = `unknown field "`
	if !strings.HasPrefix(msg, prefix) || !strings.HasSuffix(msg, `"`) {
		return false
	}
	return !strings.HasPrefix(strings.TrimSuffix(strings.TrimPrefix(msg, prefix), `"`), "tracing.")
}
