package main

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/kustomize/api/resmap"
)

// The kinds a kustomization of ours may hold; any other kind is reported, not skipped.
var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(corev1.AddToScheme(scheme))
	utilruntime.Must(appsv1.AddToScheme(scheme))
}

// decodeAll decodes every built resource into its typed struct, strictly: unknown and duplicate
// fields are errors, as `kubectl apply --validate=strict` makes them.
func decodeAll(resources resmap.ResMap) ([]runtime.Object, []string) {
	strict := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme,
		kjson.SerializerOptions{Yaml: true, Strict: true})
	var objects []runtime.Object
	var problems []string
	for _, res := range resources.Resources() {
		data, err := res.AsYAML()
		if err == nil {
			var obj runtime.Object
			if obj, _, err = strict.Decode(data, nil, nil); err == nil {
				objects = append(objects, obj)
				continue
			}
		}
		problems = append(problems, fmt.Sprintf("%s %s/%s: %v", res.GetKind(), res.GetNamespace(), res.GetName(), err))
	}
	return objects, problems
}
