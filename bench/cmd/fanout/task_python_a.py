from concurrent.futures import ThreadPoolExecutor, as_completed
from common import get, read_urls, report


def fetch_all(urls):
    with ThreadPoolExecutor(16) as ex:
        futures = {ex.submit(get, u, 1.0): u for u in urls}
        for f in as_completed(futures):
            report(futures[f], f)


fetch_all(read_urls())
