"""A one-file Django app with no tracing code, served by wsgiref; it calls itself with requests."""

import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
import requests
from django.conf import settings
from django.http import JsonResponse
from django.urls import path

settings.configure(DEBUG=False, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="test", MIDDLEWARE=[])


def item(request, item):
    return JsonResponse({"item": item})


urlpatterns = [path("items/<int:item>", item)]


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def main() -> None:
    django.setup()
    from django.core.wsgi import get_wsgi_application

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    response = requests.get(f"http://127.0.0.1:{server.server_port}/items/7", timeout=10)
    assert response.json() == {"item": 7}, response.text
    server.shutdown()


if __name__ == "__main__":
    main()
