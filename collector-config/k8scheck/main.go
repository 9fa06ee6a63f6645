// Command k8scheck builds a kustomization with kustomize's own API (what `kubectl apply -k`
// runs) and checks every object it yields:
//
//   - decoded strictly into its k8s.io/api type: an unknown or duplicate field, a wrong type or
//     a kind this checker does not know is an error;
//
//   - and wired together: selectors match their pod templates, Services select pods and reach
//     their ports, every ConfigMap, key, volume and mounted file referred to exists, listen
//     addresses in the environment agree with the declared container ports, and every
//     in-cluster address (svc.cluster.local names, a TracingConfiguration's endpoint, the
//     agents' gateway DNS name and port) names a Service port that exists.
//
//     k8scheck [--print] DIR     exit 0: "k8scheck: N objects OK"; exit 1: one line per problem
//
// --print writes the built objects (YAML) to stdout instead of the summary.
package main

import (
	"flag"
	"fmt"
	"os"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// version is stamped by build-otelcol.sh with the kustomize API release the module pins.
var version = "dev"

func main() {
	printYAML := flag.Bool("print", false, "write the built objects as YAML instead of a summary")
	showVersion := flag.Bool("version", false, "print the kustomize API version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("k8scheck (sigs.k8s.io/kustomize/api " + version + ")")
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: k8scheck [--print] DIR")
		os.Exit(2)
	}
	os.Exit(run(flag.Arg(0), *printYAML))
}

func run(dir string, printYAML bool) int {
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: kustomize build: %v\n", dir, err)
		return 1
	}
	objects, problems := decodeAll(resources)
	problems = append(problems, checkWiring(objects)...)
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		return 1
	}
	if printYAML {
		out, err := resources.AsYaml()
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", dir, err)
			return 1
		}
		os.Stdout.Write(out)
		return 0
	}
	fmt.Printf("k8scheck: %d objects OK\n", len(objects))
	return 0
}
