import random
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from common import get, host_of, read_urls, report, transient

hosts = defaultdict(lambda: threading.Semaphore(4))


def get_with_retries(url):
    for attempt in range(4):
        if attempt:
            d = min(0.1 * 2 ** (attempt - 1), 2.0)
            time.sleep(d / 2 + random.random() * d / 2)
        try:
            with hosts[host_of(url)]:
                return get(url, 1.0)
        except Exception as e:
            if attempt == 3 or not transient(e):
                raise


def fetch_all(urls):
    with ThreadPoolExecutor(16) as ex:
        futures = {ex.submit(get_with_retries, u): u for u in urls}
        for f in as_completed(futures):
            report(futures[f], f)


fetch_all(read_urls())
