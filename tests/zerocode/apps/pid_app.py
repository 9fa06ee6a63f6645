"""Apps that answer with the pid of the worker that served the request, for prefork servers."""

import os
import time

import fastapi
import flask

flask_app = flask.Flask(__name__)
fastapi_app = fastapi.FastAPI()


@flask_app.get("/pid")
def flask_pid():
    time.sleep(0.02)  # long enough that concurrent requests need both workers
    return {"pid": os.getpid()}


@fastapi_app.get("/pid")
def fastapi_pid():  # sync: FastAPI runs it in a thread, so a worker's loop is not held
    time.sleep(0.02)
    return {"pid": os.getpid()}
