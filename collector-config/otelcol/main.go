// Command otelcol is the OpenTelemetry Collector distribution of kubetrace's scale-out tier:
// node agents that route spans by trace ID to a tier of tail-sampling gateways.
//
//	otelcol --config collector-config/tier/gateway.yaml
//	otelcol validate --config collector-config/tier/agent.yaml --config collector-config/tier/resolver-static.yaml
//	otelcol components
//
// It is what the collector builder (go.opentelemetry.io/collector/cmd/builder) would generate for
// the same component list, kept by hand so that go.mod and go.sum pin every module; see
// collector-config/README.md.
package main

import (
	"os"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/otelcol"
)

// version is stamped by build-otelcol.sh with the collector release the module pins.
var version = "dev"

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol",
			Description: "kubetrace collector tier (OpenTelemetry Collector)",
			Version:     version,
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	// cobra has printed the error already.
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		os.Exit(1)
	}
}
