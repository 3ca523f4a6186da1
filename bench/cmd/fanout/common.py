# Helpers shared by task_python_a.py and task_python_b.py (not counted),
# the twins of get, transient, host_of and report in main.go.
import sys
import urllib.error
import urllib.parse
import urllib.request


def get(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        r.read()
        return r.status


def transient(e):
    if isinstance(e, urllib.error.HTTPError):
        return e.code >= 500
    return isinstance(e, (TimeoutError, urllib.error.URLError, ConnectionError))


def host_of(url):
    return urllib.parse.urlsplit(url).netloc


def report(url, f):
    print(url, "ok" if f.exception() is None else "failed")


def read_urls():
    return sys.stdin.read().split()
