"""Interceptors that add nothing: what the interceptor factories give when contrib traces grpc already.

A program that passes kubetrace's interceptor to grpc.server(interceptors=...) or
grpc.intercept_channel() under opentelemetry-instrument's contrib instrumentation gets these, so
each call keeps contrib's span and no second one (see interceptors._contrib). grpc needs an object of
its interceptor types there; each hands the call on unchanged.
"""

from __future__ import annotations

import grpc
import grpc.aio


class UntracedServerInterceptor(grpc.ServerInterceptor):
    def intercept_service(self, continuation, handler_call_details):
        return continuation(handler_call_details)


class UntracedAioServerInterceptor(grpc.aio.ServerInterceptor):
    async def intercept_service(self, continuation, handler_call_details):
        return await continuation(handler_call_details)


class UntracedClientInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def intercept_unary_unary(self, continuation, client_call_details, request):
        return continuation(client_call_details, request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        return continuation(client_call_details, request)

    def intercept_stream_unary(self, continuation, client_call_details, request_iterator):
        return continuation(client_call_details, request_iterator)

    def intercept_stream_stream(self, continuation, client_call_details, request_iterator):
        return continuation(client_call_details, request_iterator)
