"""A contrib-style instrumentor for a library kubetrace does not trace, registered by the tests under
the opentelemetry_instrumentor entry point "fakelib": zero-code tracing loads it as
opentelemetry-instrument would."""

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

INSTRUMENTED = []


class FakeInstrumentor(BaseInstrumentor):
    def instrumentation_dependencies(self):
        return []

    def _instrument(self, **kwargs):
        INSTRUMENTED.append("fakelib")

    def _uninstrument(self, **kwargs):
        INSTRUMENTED.clear()
