"""kubetrace's command-line tools, kept apart from the `tracing` library they drive.

The `kubetrace` command (validate, config, demo, view), the waterfall renderer, the Jaeger query
client and `kubetrace_cli.receiver`, an in-process OTLP receiver that the demo and the tests use.
`tracing` never imports this package: a service that only instruments itself loads none of it.
"""
